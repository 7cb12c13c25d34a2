package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"lifesituations/adapters/httpapi/problem"
)

// mediaType accepts the two structured CloudEvents JSON modes.
func mediaType(contentType string) (batch bool, p *problem.Problem) {
	unsupported := problem.New(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
		fmt.Sprintf("Content-Type must be %s (one event) or %s (a JSON array of events), not %q",
			event.ApplicationCloudEventsJSON, event.ApplicationCloudEventsBatchJSON, contentType))
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false, unsupported
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false, unsupported
	}
	switch mt {
	case event.ApplicationCloudEventsJSON:
		return false, nil
	case event.ApplicationCloudEventsBatchJSON:
		return true, nil
	}
	return false, unsupported
}

// split returns the events of the body, each still raw JSON.
func split(body []byte, batch bool) ([]json.RawMessage, *problem.Problem) {
	if !batch {
		return []json.RawMessage{body}, nil
	}
	trimmed := bytes.TrimSpace(body)
	var raws []json.RawMessage
	if len(trimmed) == 0 || trimmed[0] != '[' || json.Unmarshal(trimmed, &raws) != nil {
		return nil, problem.Validation("a batch must be a JSON array of CloudEvents",
			[]problem.FieldError{{Pointer: "", Detail: "not a JSON array"}})
	}
	if len(raws) > MaxBatch {
		return nil, tooLarge(fmt.Sprintf("the batch holds %d events; at most %d are accepted", len(raws), MaxBatch))
	}
	return raws, nil
}
