package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"sort"
	"strconv"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"lifesituations/domain/lifeevent"
)

// parseEvent reads one structured-mode CloudEvent with the SDK and checks
// the envelope attributes this API requires beyond the SDK's own checks.
// Missing time, subject and data are left to the life event validator,
// which reports them with the payload's errors.
func parseEvent(raw json.RawMessage) (event.Event, []lifeevent.FieldError) {
	var e event.Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, diagnose(raw, err)
	}
	return e, checkEnvelope(e)
}

// checkEnvelope checks a decoded event's attributes as parseEvent does.
func checkEnvelope(e event.Event) []lifeevent.FieldError {
	if v := e.SpecVersion(); v != event.CloudEventsVersionV1 {
		return []lifeevent.FieldError{malformed("/specversion", "specversion must be \"1.0\", not %q", v)}
	}
	var errs []lifeevent.FieldError
	if err := e.Validate(); err != nil {
		errs = append(errs, sdkErrors(err)...)
	}
	if ct := e.DataContentType(); ct != "" && !isJSONContentType(ct) {
		errs = append(errs, badContentType(ct))
	}
	if e.DataBase64 {
		errs = append(errs, malformed("/data_base64", "data must be a JSON object in data, not base64 in data_base64"))
	}
	return errs
}

// diagnose turns an SDK parse failure into field errors. The SDK names the
// attribute only for some failures, so the others are located by checking
// each attribute the way the SDK reads it.
func diagnose(raw json.RawMessage, err error) []lifeevent.FieldError {
	var attrs map[string]json.RawMessage
	if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &attrs) != nil {
		return []lifeevent.FieldError{malformed("", "an event must be a JSON object")}
	}
	var ve event.ValidationError
	if errors.As(err, &ve) {
		return sdkErrors(ve)
	}
	var errs []lifeevent.FieldError
	for _, name := range []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema"} {
		v, ok := attrs[name]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			errs = append(errs, malformed("/"+name, "%s must be a string", name))
			continue
		}
		switch name {
		case "time":
			if _, err := types.ParseTimestamp(s); err != nil {
				errs = append(errs, malformed("/time", "time must be an RFC 3339 timestamp with offset"))
			}
		case "source":
			if types.ParseURIRef(s) == nil {
				errs = append(errs, malformed("/source", "source must be a URI reference"))
			}
		case "datacontenttype":
			if !isJSONContentType(s) {
				errs = append(errs, badContentType(s))
			}
		}
	}
	if len(errs) == 0 {
		errs = append(errs, malformed("", "not a CloudEvent: %v", err))
	}
	return errs
}

func isJSONContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == event.ApplicationJSON
}

func badContentType(ct string) lifeevent.FieldError {
	return malformed("/datacontenttype", "datacontenttype must be absent or application/json, not %q", ct)
}

func sdkErrors(err error) []lifeevent.FieldError {
	var ve event.ValidationError
	if !errors.As(err, &ve) {
		return []lifeevent.FieldError{malformed("", "not a valid CloudEvent: %v", err)}
	}
	names := make([]string, 0, len(ve))
	for name := range ve {
		names = append(names, name)
	}
	sort.Strings(names)
	errs := make([]lifeevent.FieldError, 0, len(names))
	for _, name := range names {
		errs = append(errs, malformed(lifeevent.Pointer(name), "%s: %v", name, ve[name]))
	}
	return errs
}

func malformed(pointer, format string, args ...any) lifeevent.FieldError {
	return lifeevent.FieldError{Pointer: pointer, Reason: lifeevent.ReasonMalformedField, Detail: fmt.Sprintf(format, args...)}
}

// at prefixes a pointer relative to an event with the event's index in a batch.
func at(batch bool, index int, pointer string) string {
	if !batch {
		return pointer
	}
	return "/" + strconv.Itoa(index) + pointer
}
