// Package sessions holds the session inventory and the filter language that selects from it.
package sessions

import "github.com/hzkit/sendmessage/gen/model"

// Inventory is a fixed set of sessions, read without locking.
type Inventory struct {
	sessions []model.SessionInfo // in inventory order
	byID     map[string]int      // index in sessions
}

// New returns an inventory of sessions. Ids must be unique, as the data
// file's loader guarantees; a later duplicate replaces an earlier one. The
// inventory takes the sessions over: the caller must not change them
// afterwards.
func New(sessions []model.SessionInfo) *Inventory {
	inv := &Inventory{sessions: make([]model.SessionInfo, 0, len(sessions)), byID: make(map[string]int, len(sessions))}
	for _, s := range sessions {
		if i, dup := inv.byID[s.ID]; dup {
			inv.sessions[i] = s
			continue
		}
		inv.byID[s.ID] = len(inv.sessions)
		inv.sessions = append(inv.sessions, s)
	}
	return inv
}

// Session returns the session with the given id.
func (inv *Inventory) Session(id string) (model.SessionInfo, bool) {
	i, ok := inv.byID[id]
	if !ok {
		return model.SessionInfo{}, false
	}
	return inv.sessions[i], true
}

// Sessions returns every session, in inventory order. The slice is the
// inventory's own, shared by every caller so that a listing copies
// nothing: it must not be changed.
func (inv *Inventory) Sessions() []model.SessionInfo { return inv.sessions }

// SessionCount returns how many sessions the inventory holds.
func (inv *Inventory) SessionCount() int { return len(inv.sessions) }
