package client

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hzkit/sendmessage/gen/model"
)

// fieldKind is what a field of SessionInfo holds, in JSON.
type fieldKind int

const (
	otherField fieldKind = iota // a type no FilterValue carries
	textField
	integerField
	booleanField
	listField
)

// The integer fields that Session reads as a time or a duration take a
// time.Time or a time.Duration in a filter. TestMillisecondFieldsAreSessions
// holds these to the fields of Session.
var (
	timeFields     = map[string]bool{"start_time": true, "disconnected_time": true}
	durationFields = map[string]bool{"last_session_duration_ms": true}
)

// filterFields are the filter names of SessionInfo's fields, with what each
// holds, read once from the type generated from the spec.
var filterFields = sync.OnceValue(func() map[string]fieldKind {
	fields := map[string]fieldKind{}
	addFields(fields, reflect.TypeFor[model.SessionInfo](), "")
	return fields
})

// addFields adds the fields of struct type t, by JSON name after prefix; a
// nested object's fields are named with a dot, as Horizon's filters name them.
func addFields(fields map[string]fieldKind, t reflect.Type, prefix string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.String:
			fields[prefix+name] = textField
		case reflect.Bool:
			fields[prefix+name] = booleanField
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			fields[prefix+name] = integerField
		case reflect.Slice:
			fields[prefix+name] = listField
		case reflect.Struct:
			addFields(fields, ft, prefix+name+".")
		default:
			fields[prefix+name] = otherField
		}
	}
}

// fieldOf returns what field holds, or an error for a name SessionInfo does
// not have.
func fieldOf(filter, field string) (fieldKind, error) {
	fields := filterFields()
	if held, ok := fields[field]; ok {
		return held, nil
	}
	names := slices.Sorted(maps.Keys(fields))
	for _, name := range names {
		if strings.HasPrefix(name, field+".") {
			return 0, fmt.Errorf("%w: %s(%q): the field holds an object: name one of its fields, such as %q",
				ErrInvalidInput, filter, field, name)
		}
	}
	return 0, fmt.Errorf("%w: %s(%q): SessionInfo has no such field; its fields are %s",
		ErrInvalidInput, filter, field, strings.Join(names, ", "))
}

// filterValue checks that value suits field and returns it as Horizon's JSON
// carries it: a time in milliseconds since the Unix epoch, a duration in
// milliseconds, anything else as its plain string, bool or int64.
func filterValue(filter, field string, value any) (any, error) {
	held, err := fieldOf(filter, field)
	if err != nil {
		return nil, err
	}
	if held == booleanField && filter == "Between" {
		return nil, fmt.Errorf("%w: Between(%q): the field holds true or false, which has no order", ErrInvalidInput, field)
	}
	switch v := value.(type) {
	case time.Time:
		if timeFields[field] {
			return v.UnixMilli(), nil
		}
	case time.Duration:
		if durationFields[field] {
			return v.Milliseconds(), nil
		}
	default:
		rv := reflect.ValueOf(value)
		switch {
		case rv.Kind() == reflect.String && held == textField:
			return rv.String(), nil
		case rv.Kind() == reflect.Bool && held == booleanField:
			return rv.Bool(), nil
		case rv.CanInt() && held == integerField:
			return rv.Int(), nil
		}
	}
	return nil, fmt.Errorf("%w: %s(%q, %T): %s", ErrInvalidInput, filter, field, value, wants(field, held))
}

// textFilter checks that field holds text, or a list when lists is true.
func textFilter(filter, field string, lists bool) error {
	held, err := fieldOf(filter, field)
	switch {
	case err != nil:
		return err
	case held == textField, held == listField && lists:
		return nil
	case held == listField:
		return fmt.Errorf("%w: %s(%q): %s", ErrInvalidInput, filter, field, wants(field, held))
	}
	return fmt.Errorf("%w: %s(%q): the field holds %s; %s compares text", ErrInvalidInput, filter, field, holds(field, held), filter)
}

// wants says what a field holds and which Go values a filter takes for it.
func wants(field string, held fieldKind) string {
	what := "the field holds " + holds(field, held)
	switch {
	case held == textField:
		return what + ": give a string, or a type such as SessionState"
	case held == booleanField:
		return what + ": give a bool"
	case timeFields[field]:
		return what + ": give a time.Time, or the milliseconds as an integer"
	case durationFields[field]:
		return what + ": give a time.Duration, or the milliseconds as an integer"
	case held == integerField:
		return what + ": give an integer"
	case held == listField:
		return what + ": only Contains applies, and selects the sessions whose list holds a value"
	}
	return what
}

// holds names what a field holds.
func holds(field string, held fieldKind) string {
	switch {
	case held == textField:
		return "text"
	case held == booleanField:
		return "true or false"
	case timeFields[field]:
		return "a time in milliseconds since the Unix epoch"
	case durationFields[field]:
		return "a duration in milliseconds"
	case held == integerField:
		return "a number"
	case held == listField:
		return "a list"
	}
	return "a value of a type that this client cannot filter on"
}
