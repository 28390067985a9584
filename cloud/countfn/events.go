package countfn

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// object is one created object that an event names.
type object struct {
	Bucket, Key string
}

// envelope holds the fields that tell the kinds of payload apart.
type envelope struct {
	Records []struct {
		EventSource    string `json:"eventSource"` // aws:s3, aws:sqs
		EventSourceSNS string `json:"EventSource"` // aws:sns
	} `json:"Records"`
	DetailType string `json:"detail-type"` // EventBridge
	Source     string `json:"source"`
	Type       string `json:"Type"`   // an SNS message as SQS delivers it
	Event      string `json:"Event"`  // s3:TestEvent
	Action     string `json:"action"` // {"action": "sweep"}, a manual invocation
}

// kind is what a payload is.
type kind int

const (
	kindObjects kind = iota // S3, SNS or EventBridge notifications of objects
	kindSQS                 // an SQS batch
	kindSweep               // a scheduled event or {"action": "sweep"}
)

func classify(payload []byte) (kind, envelope, error) {
	var e envelope
	if err := json.Unmarshal(payload, &e); err != nil {
		return 0, e, fmt.Errorf("%w: not a JSON object: %v", ErrUnknownEvent, err)
	}
	switch {
	case len(e.Records) > 0 && e.Records[0].EventSource == "aws:sqs":
		return kindSQS, e, nil
	case e.DetailType == "Scheduled Event" || e.Action == "sweep":
		return kindSweep, e, nil
	}
	return kindObjects, e, nil
}

// objects returns the created objects that a notification names: an S3
// event (its ObjectCreated records), an SNS delivery or an SNS message
// carrying one, an EventBridge "Object Created" event, or S3's test event
// (none). depth bounds the nesting of envelopes.
func objects(payload []byte, depth int) ([]object, error) {
	if depth > 3 {
		return nil, fmt.Errorf("%w: envelopes nested too deep", ErrUnknownEvent)
	}
	_, e, err := classify(payload)
	if err != nil {
		return nil, err
	}
	switch {
	case e.Event == "s3:TestEvent":
		return nil, nil
	case e.Type == "Notification":
		var m events.SNSEntity
		if err := json.Unmarshal(payload, &m); err != nil {
			return nil, fmt.Errorf("%w: SNS message: %v", ErrUnknownEvent, err)
		}
		return objects([]byte(m.Message), depth+1)
	case e.DetailType != "":
		return eventBridgeObjects(payload, e)
	case len(e.Records) == 0:
		return nil, fmt.Errorf("%w: no Records, detail-type or action", ErrUnknownEvent)
	}
	var objs []object
	switch src := e.Records[0].EventSource + e.Records[0].EventSourceSNS; src {
	case "aws:s3":
		var ev events.S3Event
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("%w: S3 event: %v", ErrUnknownEvent, err)
		}
		for _, r := range ev.Records {
			if r.EventSource == "aws:s3" && strings.HasPrefix(r.EventName, "ObjectCreated:") {
				objs = append(objs, object{r.S3.Bucket.Name, r.S3.Object.URLDecodedKey})
			}
		}
	case "aws:sns":
		var ev events.SNSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("%w: SNS event: %v", ErrUnknownEvent, err)
		}
		var errs []error
		for _, r := range ev.Records {
			o, err := objects([]byte(r.SNS.Message), depth+1)
			objs = append(objs, o...)
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			return objs, err
		}
	default:
		return nil, fmt.Errorf("%w: records from %q", ErrUnknownEvent, src)
	}
	return objs, nil
}

// eventBridgeObjects reads an EventBridge event from S3: "Object Created"
// names one object (its key is not URL-encoded); other S3 events name none.
func eventBridgeObjects(payload []byte, e envelope) ([]object, error) {
	if e.Source != "aws.s3" {
		return nil, fmt.Errorf("%w: EventBridge %q from %q", ErrUnknownEvent, e.DetailType, e.Source)
	}
	if e.DetailType != "Object Created" {
		return nil, nil
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("%w: EventBridge event: %v", ErrUnknownEvent, err)
	}
	var d struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key string `json:"key"`
		} `json:"object"`
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil || d.Bucket.Name == "" || d.Object.Key == "" {
		return nil, fmt.Errorf("%w: EventBridge Object Created without bucket and key", ErrUnknownEvent)
	}
	return []object{{d.Bucket.Name, d.Object.Key}}, nil
}
