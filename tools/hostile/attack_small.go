package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// smallOnes: TLS suites, a token with U+00A0, a filter that is not UTF-8,
// and a logout while a body uploads.
func smallOnes(ctx context.Context, h *harness) error {
	s, err := h.start(ctx, startOptions{tls: true})
	if err != nil {
		return err
	}
	defer s.stop()
	dialer := tls.Dialer{NetDialer: dialerFrom(attackerIP(0)), Config: &tls.Config{
		InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, //nolint:gosec // only the suite is under test
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA},
	}}
	cbc := "accepted"
	if conn, err := dialer.DialContext(ctx, "tcp", s.addr); err != nil {
		cbc = "refused"
	} else {
		conn.Close()
	}
	h.budget("TLS 1.2 with CBC-SHA suites only", cbc, "refused", cbc == "refused")
	client := newClient(attackerIP(0), clientOptions{})
	status, _, _ := get(ctx, client, s.base+listPath, operatorToken+"\u00a0")
	h.budget("token followed by U+00A0", strconv.Itoa(status), "401", status == http.StatusUnauthorized)
	status, _, _ = get(ctx, client, s.base+listPath+`?filter=%7B%22type%22%3A%22Equals%22%2C%22name%22%3A%22id%22%2C%22value%22%3A%22%FF%22%7D`, operatorToken)
	h.budget("filter with a byte that is not UTF-8", strconv.Itoa(status), "400", status == http.StatusBadRequest)
	status, err = uploadAcrossLogout(ctx, client, s)
	if err != nil {
		return err
	}
	h.budget("upload finished after its login's logout", strconv.Itoa(status), "401", status == http.StatusUnauthorized)
	return nil
}

// uploadAcrossLogout logs in, starts an upload with the access token, logs
// out, finishes the upload, and returns its status.
func uploadAcrossLogout(ctx context.Context, client *http.Client, s *server) (int, error) {
	access, refresh, err := login(ctx, client, s.base, adminUser, adminPassword)
	if err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	body := sendBody("after logout", []string{"s-00001"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+sendPath, pr)
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Content-Type", "application/json")
	answered := make(chan int, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	if _, err := pw.Write(body[:10]); err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	status, _, err := post(ctx, client, s.base+"/rest/logout", "", jsonBytes(map[string]string{"refresh_token": refresh}))
	if err != nil || status != http.StatusOK {
		return 0, fmt.Errorf("logout: %d %w", status, err)
	}
	_, _ = pw.Write(body[10:])
	pw.Close()
	return <-answered, nil
}
