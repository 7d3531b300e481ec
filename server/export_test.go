package server

// NewMemoryStoreWithCap lets tests make a store with a small cap, which New
// makes only from a Config.
var NewMemoryStoreWithCap = newMemoryStore
