package webhook_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/connectors/webhook"
)

func TestVerify(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"event":"upsert","id":"u1"}`)
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := webhook.Sign(secret, ts, body)
	for _, tc := range []struct {
		name           string
		secret, body   []byte
		timestamp, sig string
		now            time.Time
		wantErr        bool
	}{
		{"as signed", secret, body, ts, sig, now, false},
		{"within tolerance", secret, body, ts, sig, now.Add(4 * time.Minute), false},
		{"tampered body", secret, []byte(`{"event":"delete","id":"u1"}`), ts, sig, now, true},
		{"other secret", []byte("other"), body, ts, sig, now, true},
		{"replayed later", secret, body, ts, sig, now.Add(6 * time.Minute), true},
		{"from the future", secret, body, ts, sig, now.Add(-6 * time.Minute), true},
		{"timestamp changed", secret, body, strconv.FormatInt(now.Unix()+1, 10), sig, now, true},
		{"no timestamp", secret, body, "", sig, now, true},
		{"no signature", secret, body, ts, "", now, true},
		{"bare hex", secret, body, ts, sig[len("sha256="):], now, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Verify(tc.secret, tc.timestamp, tc.sig, tc.body, tc.now, 5*time.Minute)
			if (err != nil) != tc.wantErr {
				t.Errorf("Verify = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// The signature is what the README's receiver computes by hand: HMAC-SHA256 over
// TIMESTAMP + "." + BODY, hex, prefixed sha256= (value computed independently, with
// Python's hmac module).
func TestSignKnownValue(t *testing.T) {
	const want = "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
	if got := webhook.Sign([]byte("key"), "1700000000", []byte(`{}`)); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

// A receiver's request: the headers the client sets, checked over the body it sent.
func TestVerifyRequest(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"event":"delete","id":"u1"}`)
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	request := func(body []byte) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		r.Header.Set(webhook.HeaderTimestamp, ts)
		r.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, []byte(`{"event":"delete","id":"u1"}`)))
		return r
	}
	got, err := webhook.VerifyRequest(request(body), secret, now, time.Minute)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("VerifyRequest = %q, %v; want the body", got, err)
	}
	if _, err := webhook.VerifyRequest(request([]byte(`{"event":"upsert","id":"u1"}`)), secret, now, time.Minute); err == nil {
		t.Fatal("a body other than the signed one was accepted")
	}
}

// ReadUserDocument tells a forged delivery (401) from a signed but malformed one (400).
func TestReadUserDocument(t *testing.T) {
	secret := []byte("s3cret")
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	request := func(body []byte, signed []byte) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		r.Header.Set(webhook.HeaderTimestamp, ts)
		r.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, signed))
		return r
	}
	good := []byte(`{"event":"delete","id":"u1"}`)
	doc, err := webhook.ReadUserDocument(request(good, good), secret, now, time.Minute)
	if err != nil || doc.ID != "u1" || doc.Event != "delete" {
		t.Fatalf("ReadUserDocument = %+v, %v", doc, err)
	}
	if _, err := webhook.ReadUserDocument(request(good, []byte(`{}`)), secret, now, time.Minute); !errors.Is(err, webhook.ErrUnverified) {
		t.Errorf("a forged delivery: %v, want ErrUnverified", err)
	}
	malformed := []byte(`not json`)
	if _, err := webhook.ReadUserDocument(request(malformed, malformed), secret, now, time.Minute); err == nil || errors.Is(err, webhook.ErrUnverified) {
		t.Errorf("a signed malformed document: %v, want a decoding error", err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte("s"), "1800000000", "sha256=00", []byte(`{}`))
	f.Add([]byte(""), "-1", "", []byte(nil))
	f.Fuzz(func(t *testing.T, secret []byte, timestamp, signature string, body []byte) {
		now := time.Unix(1_800_000_000, 0)
		err := webhook.Verify(secret, timestamp, signature, body, now, 5*time.Minute)
		if err == nil && strings.TrimSpace(signature) != webhook.Sign(secret, timestamp, body) {
			t.Fatalf("accepted a signature that is not the HMAC: %q", signature)
		}
	})
}
