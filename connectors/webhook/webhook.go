// Package webhook delivers identity documents to an app as signed JSON POSTs, and
// verifies such a signature on the receiving side.
//
// Each request carries X-Scim-Operator-Timestamp (Unix seconds) and
// X-Scim-Operator-Signature: sha256=HEX, where HEX is the HMAC-SHA256, keyed with the
// app's secret, of TIMESTAMP + "." + the raw body. A receiver recomputes it, compares in
// constant time and refuses old timestamps, so a captured request cannot be replayed.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/scim-operator/scim-operator/connectors"
)

// Headers of a delivery.
const (
	HeaderTimestamp = "X-Scim-Operator-Timestamp"
	HeaderSignature = "X-Scim-Operator-Signature"
	HeaderDelivery  = "X-Scim-Operator-Delivery"
)

// Sign returns the X-Scim-Operator-Signature value for body sent at timestamp.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery's signature and that its timestamp is within tolerance of
// now; receivers call it before trusting the body.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("missing or malformed timestamp")
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp %s is %s away from now: a replay, or a clock out of sync", timestamp, d.Round(time.Second))
	}
	if !hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(strings.TrimSpace(signature))) {
		return errors.New("signature does not match")
	}
	return nil
}

// maxBody bounds the body VerifyRequest reads: a delivery is one identity's document.
const maxBody = 1 << 20

// VerifyRequest reads a delivery's body and verifies its signature and timestamp: what a
// Go receiver calls before it trusts the body.
func VerifyRequest(r *http.Request, secret []byte, now time.Time, tolerance time.Duration) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	if err := Verify(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, now, tolerance); err != nil {
		return nil, err
	}
	return body, nil
}

// ErrUnverified marks a delivery whose signature or timestamp does not hold: answer it
// 401 and trust nothing in it.
var ErrUnverified = errors.New("unverified delivery")

// ReadUserDocument verifies a delivery (VerifyRequest) and decodes its user document:
// what a Go receiver of user deliveries calls. Errors from verification wrap
// ErrUnverified; the others are a malformed document.
func ReadUserDocument(r *http.Request, secret []byte, now time.Time, tolerance time.Duration) (connectors.UserDocument, error) {
	var doc connectors.UserDocument
	body, err := VerifyRequest(r, secret, now, tolerance)
	if err != nil {
		return doc, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return doc, fmt.Errorf("decoding the user document: %w", err)
	}
	return doc, nil
}

// Client delivers to one webhook URL.
type Client struct {
	URL    string
	Secret []byte
	HTTP   *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var _ connectors.Connector = (*Client)(nil)

// DeliverUser POSTs the document; a 2xx answer acknowledges it.
func (c *Client) DeliverUser(ctx context.Context, doc connectors.UserDocument, _ string) (string, error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return "", &connectors.RefusedError{Message: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "scim-operator")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(c.Secret, ts, body))
	req.Header.Set(HeaderDelivery, doc.DeliveryID)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", connectors.Unreachable(err)
	}
	defer resp.Body.Close() //nolint:errcheck // read by CheckResponse
	return "", connectors.CheckResponse(resp)
}

// DeliverGroup is not part of the webhook contract: groups reach a webhook app as the
// users' group lists and the app's scope, so the delivery controller never calls it.
func (c *Client) DeliverGroup(context.Context, connectors.GroupDocument, string) (string, error) {
	return "", nil
}
