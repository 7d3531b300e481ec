package bulkjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/hzkit/sendmessage/gen/model"
)

// TestEveryFieldOfTheGeneratedTypeIsWritten sets every field of the generated
// type, whatever its kind, so that one a future spec adds is set too, and holds
// the typed encoder to encoding/json: with every field set, with every field
// but the optional ones set (the typed path proper), and with each optional
// field alone set.
func TestEveryFieldOfTheGeneratedTypeIsWritten(t *testing.T) {
	t.Parallel()
	e := newTypedEncoder()
	if e == nil {
		t.Fatal("no typed encoder for model.BulkItemResponseInfo (a field it does not know, or writes otherwise): answers fall back to encoding/json")
	}
	typ := reflect.TypeFor[model.BulkItemResponseInfo]()
	var all, written model.BulkItemResponseInfo
	items := map[string]*model.BulkItemResponseInfo{"every field": &all, "every field but the optional ones": &written}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue // encoding/json leaves it out, and newTypedEncoder refuses it
		}
		setNonZero(reflect.ValueOf(&all).Elem().Field(i), i)
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			one := new(model.BulkItemResponseInfo)
			setNonZero(reflect.ValueOf(one).Elem().Field(i), i)
			items["only "+f.Name] = one
		default:
			setNonZero(reflect.ValueOf(&written).Elem().Field(i), i)
		}
	}
	if failed(&written) {
		t.Fatal("failed() with no optional field set: the typed path would never be taken")
	}
	for name, v := range items {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.append(nil, v)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: wrote %s, %v; want %s", name, got, err, want)
		}
		if name == "every field but the optional ones" {
			if got, err := e.appendFields(nil, v); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: the typed path wrote %s, %v; want %s", name, got, err, want)
			}
		}
	}
}

// setNonZero sets v, and all it reaches, to a value that is not zero and that
// differs with n; strings need escaping.
func setNonZero(v reflect.Value, n int) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(-n - 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(uint64(n + 1))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(n) + 0.5)
	case reflect.String:
		v.SetString(fmt.Sprintf("f%d <&> \"\u2028", n))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		setNonZero(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		setNonZero(v.Index(0), n)
	case reflect.Array:
		for i := range v.Len() {
			setNonZero(v.Index(i), n)
		}
	case reflect.Map:
		key, elem := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		setNonZero(key, n)
		setNonZero(elem, n)
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(key, elem)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				setNonZero(v.Field(i), n)
			}
		}
	case reflect.Interface:
		v.Set(reflect.ValueOf(fmt.Sprint(n)))
	default:
		panic(fmt.Sprintf("setNonZero: add %s", v.Kind()))
	}
}

func TestMemberKeysComeFromTheTags(t *testing.T) {
	t.Parallel()
	type item struct {
		Opt *string `json:"opt,omitempty"`
		A   string  `json:"a<b"`
		N   int32   `json:"n"`
	}
	keys, ok := memberKeys([]func(*item){func(v *item) { v.A = "x" }, func(v *item) { v.N = 1 }}, []func(*item){func(v *item) { v.Opt = new(string) }})
	if want := []string{`"a\u003cb":`, `"n":`}; !ok || !slices.Equal(keys, want) {
		t.Errorf("memberKeys = %q, %v; want %q", keys, ok, want)
	}
}

// TestMemberKeysRefuseWhatTheTypedPathDoesNotKnow: each case is a type, or a
// list of fields, that the typed path would write otherwise than
// encoding/json.
func TestMemberKeysRefuseWhatTheTypedPathDoesNotKnow(t *testing.T) {
	t.Parallel()
	type item struct {
		Opt *string `json:"opt,omitempty"`
		A   string  `json:"a"`
		N   int32   `json:"n"`
	}
	a := func(v *item) { v.A = "x" }
	n := func(v *item) { v.N = 1 }
	opt := []func(*item){func(v *item) { v.Opt = new(string) }}
	refused := func(_ []string, ok bool) bool { return !ok }

	type extraBool struct {
		A string `json:"a"`
		B bool   `json:"b"`
	}
	type extraOptional struct {
		A string  `json:"a"`
		C *string `json:"c,omitempty"`
	}
	type stringOption struct {
		N int `json:"n,string"`
	}
	type omitEmpty struct {
		A string `json:"a,omitempty"`
	}
	type optionalNotOmitted struct {
		A   string  `json:"a"`
		Opt *string `json:"opt"`
	}
	type optionalNotPointer struct {
		A   string   `json:"a"`
		Opt []string `json:"opt,omitempty"`
	}
	type selfEncoding struct {
		A selfEncodingString `json:"a"`
	}
	type untagged struct {
		A string
	}
	type skipped struct {
		A string `json:"-"`
	}
	type unexported struct {
		a string
	}
	for name, r := range map[string]bool{
		"fields out of order":           refused(memberKeys([]func(*item){n, a}, opt)),
		"a field set twice":             refused(memberKeys([]func(*item){a, a, n}, opt)),
		"a function setting two fields": refused(memberKeys([]func(*item){func(v *item) { a(v); n(v) }}, opt)),
		"a function setting none":       refused(memberKeys([]func(*item){func(*item) {}, a, n}, opt)),
		"an optional field not checked": refused(memberKeys([]func(*item){a, n}, nil)),
		"an optional field written":     refused(memberKeys([]func(*item){a, n}, []func(*item){a})),
		"a field not written":           refused(memberKeys([]func(*item){a}, opt)),
		"a new bool field":              refused(memberKeys([]func(*extraBool){func(v *extraBool) { v.A = "x" }}, nil)),
		"a new optional field":          refused(memberKeys([]func(*extraOptional){func(v *extraOptional) { v.A = "x" }}, nil)),
		"the string option":             refused(memberKeys([]func(*stringOption){func(v *stringOption) { v.N = 1 }}, nil)),
		"omitempty on a written field":  refused(memberKeys([]func(*omitEmpty){func(v *omitEmpty) { v.A = "x" }}, nil)),
		"an optional field without omitempty": refused(memberKeys([]func(*optionalNotOmitted){func(v *optionalNotOmitted) { v.A = "x" }},
			[]func(*optionalNotOmitted){func(v *optionalNotOmitted) { v.Opt = new(string) }})),
		"an optional field not a pointer": refused(memberKeys([]func(*optionalNotPointer){func(v *optionalNotPointer) { v.A = "x" }},
			[]func(*optionalNotPointer){func(v *optionalNotPointer) { v.Opt = []string{} }})),
		"a field that encodes itself": refused(memberKeys([]func(*selfEncoding){func(v *selfEncoding) { v.A = "x" }}, nil)),
		"a field without a tag":       refused(memberKeys([]func(*untagged){func(v *untagged) { v.A = "x" }}, nil)),
		"a field tagged -":            refused(memberKeys([]func(*skipped){func(v *skipped) { v.A = "x" }}, nil)),
		"an unexported field":         refused(memberKeys([]func(*unexported){func(v *unexported) { v.a = "x" }}, nil)),
	} {
		if !r {
			t.Errorf("%s: accepted", name)
		}
	}
}
