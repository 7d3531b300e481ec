package client_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
)

// standInToken is the access token the stand-in server accepts and gives
// for a login with standInPassword.
const (
	standInToken    = "stand-in-token"
	standInPassword = "stand-in-Passw0rd"
)

// startStandIn starts a minimal stand-in for a Connection Server: it knows the
// sessions in connected, all in pool-finance, and answers login, logout,
// session listing and send-message the way Horizon does. It returns the
// server's URL; the server stops when the process ends.
func startStandIn(connected ...string) string {
	known := map[string]bool{}
	for _, id := range connected {
		known[id] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rest/login", func(w http.ResponseWriter, r *http.Request) {
		var login map[string]string
		if json.NewDecoder(r.Body).Decode(&login) != nil || login["password"] != standInPassword {
			writeJSON(w, http.StatusUnauthorized, model.ErrorResponse{ErrorMessage: "invalid user name, domain or password"})
			return
		}
		writeJSON(w, http.StatusOK, model.AuthTokens{AccessToken: standInToken, RefreshToken: "stand-in-refresh"})
	})
	mux.HandleFunc("POST /rest/logout", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /rest/inventory/v1/sessions", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+standInToken {
			writeJSON(w, http.StatusUnauthorized, model.ErrorResponse{ErrorMessage: "invalid bearer token"})
			return
		}
		sessions := []model.SessionInfo{}
		for i, id := range connected {
			sessions = append(sessions, standInSession(i, id))
		}
		writeJSON(w, http.StatusOK, sessions)
	})
	mux.HandleFunc("POST /rest/inventory/v1/sessions/action/send-message", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+standInToken {
			writeJSON(w, http.StatusUnauthorized, model.ErrorResponse{
				ErrorMessage: "invalid bearer token",
				Errors:       []model.APIError{{ErrorKey: "unauthorized", ErrorMessage: "invalid bearer token"}},
			})
			return
		}
		var spec model.SessionSendMessageSpec
		if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
			writeJSON(w, http.StatusBadRequest, model.ErrorResponse{ErrorMessages: []string{err.Error()}})
			return
		}
		now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC).UnixMilli()
		items := make([]model.BulkItemResponseInfo, 0, len(spec.SessionIDs))
		for _, id := range spec.SessionIDs {
			item := model.BulkItemResponseInfo{ID: id, StatusCode: http.StatusOK, Timestamp: now}
			if !known[id] {
				item.StatusCode = http.StatusNotFound
				item.ErrorMessages = &[]string{"Session " + id + " does not exist."}
			}
			items = append(items, item)
		}
		writeJSON(w, http.StatusOK, items)
	})
	return httptest.NewServer(mux).URL
}

// standInSession is the i-th connected session: a Blast desktop session in
// pool-finance, started at 08:00 UTC on 27 November 2026 plus i quarters of an hour.
func standInSession(i int, id string) model.SessionInfo {
	pool := "pool-finance"
	user := fmt.Sprintf("S-1-5-21-1085031214-1563985344-725345543-%d", 1104+i)
	machine := fmt.Sprintf("machine-fin-%03d", i+1)
	desktop, blast := model.SessionInfoSessionTypeDESKTOP, model.SessionInfoSessionProtocolBLAST
	start := time.Date(2026, 11, 27, 8, 15*i, 0, 0, time.UTC).UnixMilli()
	return model.SessionInfo{
		ID: id, UserID: &user, DesktopPoolID: &pool, MachineID: &machine, SessionType: &desktop,
		SessionState: model.SessionInfoSessionStateCONNECTED, SessionProtocol: &blast, StartTime: &start,
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
