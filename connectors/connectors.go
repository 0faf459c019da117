// Package connectors defines what a DownstreamApp receives about an identity and how a
// connector's failures are told apart: a refusal the app will repeat (retrying cannot
// help) from an outage (retry with backoff).
package connectors

import (
	"context"
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
)

// Event is what happened to an identity, from the app's point of view.
type Event string

const (
	// EventUpsert: the identity exists with these attributes and entitlements.
	EventUpsert Event = "upsert"
	// EventDeactivate: the identity exists but must have no access (deactivated by the
	// identity provider, or no longer in the app's scope).
	EventDeactivate Event = "deactivate"
	// EventDelete: the identity provider deleted the identity.
	EventDelete Event = "delete"
)

// Email is one of a user's addresses.
type Email struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

// User is the part of a ScimUser an app receives.
type User struct {
	ID          string   `json:"id"`
	ExternalID  string   `json:"externalId,omitempty"`
	UserName    string   `json:"userName"`
	DisplayName string   `json:"displayName,omitempty"`
	Emails      []Email  `json:"emails,omitempty"`
	Active      bool     `json:"active"`
	Groups      []string `json:"groups,omitempty"`
}

// Quota is a storage quota, in bytes and as the quantity it was given as.
type Quota struct {
	Bytes    int64  `json:"bytes"`
	Quantity string `json:"quantity"`
}

// Entitlements are what the user is granted: the role in the app's own naming.
type Entitlements struct {
	Role         string `json:"role,omitempty"`
	Workspace    string `json:"workspace,omitempty"`
	StorageQuota *Quota `json:"storageQuota,omitempty"`
}

// UserDocument is one delivery about a user: the webhook's JSON body, and what the SCIM
// connector renders as a SCIM User.
type UserDocument struct {
	Event Event  `json:"event"`
	ID    string `json:"id"`
	// DeliveryID is the same for every retry of the same document, so that a receiver
	// can recognise a retry of what it already applied.
	DeliveryID   string        `json:"deliveryId"`
	User         User          `json:"user"`
	Entitlements *Entitlements `json:"entitlements,omitempty"`
}

// GroupDocument is one delivery about a group; members are the app's ids of the users.
type GroupDocument struct {
	Event       Event    `json:"event"`
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	ExternalID  string   `json:"externalId,omitempty"`
	Members     []string `json:"members,omitempty"`
}

// Hash is the hex SHA-256 of a document's JSON without its delivery id: equal hashes
// mean the app already has this state.
func Hash(doc any) string {
	if d, ok := doc.(UserDocument); ok {
		d.DeliveryID = ""
		doc = d
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("documents always marshal: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Connector delivers documents to one app. A returned remote id is the app's id of the
// identity ("" when the app keeps none, or after a delete).
type Connector interface {
	DeliverUser(ctx context.Context, doc UserDocument, remoteID string) (string, error)
	DeliverGroup(ctx context.Context, doc GroupDocument, remoteID string) (string, error)
}

// RefusedError is an app's refusal that a retry would meet again (a 4xx other than
// 408 and 429): the delivery is marked failed with the app's message until the
// identity changes.
type RefusedError struct {
	Status  int
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the app refused the delivery with %d: %s", e.Status, e.Message)
}

// UnavailableError is an outage: a 5xx, 408, 429 or a network failure. RetryAfter is
// the app's own hint, zero without one.
type UnavailableError struct {
	Status     int
	Message    string
	RetryAfter time.Duration
}

func (e *UnavailableError) Error() string {
	if e.Status == 0 {
		return "the app is unreachable: " + e.Message
	}
	return fmt.Sprintf("the app answered %d: %s", e.Status, e.Message)
}

// IsRefused reports whether err is a refusal rather than an outage.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// RetryAfter is the app's Retry-After hint carried by err, if any.
func RetryAfter(err error) time.Duration {
	var u *UnavailableError
	if errors.As(err, &u) {
		return u.RetryAfter
	}
	return 0
}

// maxMessage bounds how much of an app's answer is kept (status fields have limits).
const maxMessage = 512

// CheckResponse turns a non-2xx answer into a RefusedError or UnavailableError.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxMessage))
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return &UnavailableError{Status: resp.StatusCode, Message: msg, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	default:
		return &RefusedError{Status: resp.StatusCode, Message: msg}
	}
}

// Unreachable wraps a transport failure (refused connection, timeout) as an outage.
func Unreachable(err error) error {
	return &UnavailableError{Message: err.Error()}
}

func retryAfter(v string) time.Duration {
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
