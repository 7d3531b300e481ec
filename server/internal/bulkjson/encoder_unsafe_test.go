//go:build bulkjson_unsafe

package bulkjson

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestStructEncoderRefusesWhatItCannotWrite(t *testing.T) {
	t.Parallel()
	type unsupported struct {
		A bool `json:"a"`
	}
	if newStructEncoder[unsupported]() != nil {
		t.Error("an encoder for a struct with a bool field")
	}
	type stringOption struct {
		A int `json:"a,string"`
	}
	if newStructEncoder[stringOption]() != nil {
		t.Error("an encoder for a field with the string option")
	}
	type selfEncoding struct {
		A selfEncodingString `json:"a"`
	}
	if newStructEncoder[selfEncoding]() != nil {
		t.Error("an encoder for a field that encodes itself")
	}
}

// TestStructEncoderReadsEveryKind writes a struct with every kind it handles
// and holds it to encoding/json.
func TestStructEncoderReadsEveryKind(t *testing.T) {
	t.Parallel()
	type kinds struct {
		P   *string `json:"p,omitempty"`
		S   string  `json:"s"`
		I   int     `json:"i"`
		I8  int8    `json:"i8"`
		I16 int16   `json:"i16"`
		I32 int32   `json:"i32"`
		I64 int64   `json:"i64"`
		Q   *[]int  `json:"q,omitempty"`
	}
	e := newStructEncoder[kinds]()
	if e == nil {
		t.Fatal("no encoder")
	}
	p := "set"
	for _, v := range []kinds{
		{S: "a<b", I: -1, I8: -128, I16: 32767, I32: -2147483648, I64: 9223372036854775807},
		{P: &p, S: "x", I64: 1},
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.append(nil, &v)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("append(%+v) = %s, %v; want %s", v, got, err, want)
		}
	}
}
