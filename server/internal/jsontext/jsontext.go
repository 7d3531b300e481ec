// Package jsontext checks that a request body is exactly one JSON value in UTF-8.
package jsontext

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Check refuses data that is not exactly one JSON value in UTF-8. Its error
// says what is wrong and at which byte.
func Check(data []byte) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("not valid UTF-8 at byte %d: JSON text must be UTF-8", invalidUTF8At(data))
	}
	if json.Valid(data) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil {
		return err // the decoder's own words are the answer
	}
	rest := dec.InputOffset()
	rest += int64(len(data[rest:]) - len(bytes.TrimLeft(data[rest:], " \t\r\n")))
	return fmt.Errorf("unexpected data after the JSON value at byte %d: send one JSON value only", rest)
}

// invalidUTF8At returns the offset of the first byte that is not UTF-8.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(data)
}
