package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

const checkUsage = `Usage: scim-operator check --url TENANT_URL/ServiceProviderConfig [--token-file F]

Asks a tenant's ServiceProviderConfig as an identity provider would and exits 0 when the
SCIM server answers it: 200 with the document when a token is given, else the SCIM 401
error (the endpoint is up and refuses strangers). The chart's ` + "`helm test`" + ` runs it.`

// runCheck is the chart's `helm test`: the manager image has no shell or curl, so the
// binary checks its own endpoint.
func runCheck(ctx context.Context, args []string, stdout io.Writer, stderr *os.File) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "URL of a tenant's ServiceProviderConfig.")
	tokenFile := fs.String("token-file", "", "File holding the bearer token; absent or empty: expect 401.")
	insecure := fs.Bool("insecure-skip-verify", false, "Accept any server certificate (a Service address the certificate does not name).")
	timeout := fs.Duration("timeout", 10*time.Second, "How long to wait for the answer.")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *url == "" {
		return usage(stderr, checkUsage)
	}
	tok, err := readOptionalToken(*tokenFile)
	if err != nil {
		fmt.Fprintf(stderr, "reading token: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: *insecure, MinVersion: tls.VersionTLS12}, //nolint:gosec // opt-in, see flag
	}}
	msg, err := checkServiceProviderConfig(ctx, client, *url, tok)
	if err != nil {
		fmt.Fprintf(stderr, "FAIL %s: %v\n", *url, err)
		return 1
	}
	fmt.Fprintf(stdout, "OK %s: %s\n", *url, msg)
	return 0
}

func readOptionalToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

func checkServiceProviderConfig(ctx context.Context, client *http.Client, url, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/scim+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	var doc struct {
		Schemas []string `json:"schemas"`
		Patch   struct {
			Supported bool `json:"supported"`
		} `json:"patch"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("status %d, body is not SCIM JSON: %w", resp.StatusCode, err)
	}
	want, wantSchema := http.StatusOK, schema.SPConfigURN
	if token == "" {
		want, wantSchema = http.StatusUnauthorized, schema.ErrorURN
	}
	if resp.StatusCode != want || !slices.Contains(doc.Schemas, wantSchema) {
		return "", fmt.Errorf("status %d with schemas %v, want %d with %s", resp.StatusCode, doc.Schemas, want, wantSchema)
	}
	if token == "" {
		return "the SCIM server answers and asks for a token (none was given)", nil
	}
	if !doc.Patch.Supported {
		return "", errors.New("the ServiceProviderConfig does not advertise PATCH")
	}
	return "ServiceProviderConfig served with the token", nil
}
