//go:build !bulkjson_unsafe

package bulkjson

// itemEncoder encodes the items of the send-message answer; nil when the
// generated type has a field it does not know, and then encoding/json does.
var itemEncoder = newTypedEncoder()
