package countfn

import (
	"errors"
	"fmt"
	"time"
)

// ErrUnknownEvent is returned for a payload that is none of the events the
// function takes.
var ErrUnknownEvent = errors.New("unknown event")

// ErrNoRow is wrapped by the error for an image object whose database row
// is not written yet (the receiver writes objects first): retry later.
var ErrNoRow = errors.New("no database row for the object yet")

// BusyError says that another worker holds the image's count job. The event
// should be retried later: by then the job is done, or its lease has run
// out and it can be taken.
type BusyError struct {
	Item   string
	Worker string    // who holds it ("" while it is being claimed)
	Until  time.Time // its lease
}

func (e *BusyError) Error() string {
	if e.Worker == "" {
		return fmt.Sprintf("the count job of %s is being claimed by another worker", e.Item)
	}
	return fmt.Sprintf("the count job of %s is held by %s until %s", e.Item, e.Worker, e.Until.UTC().Format(time.RFC3339))
}
