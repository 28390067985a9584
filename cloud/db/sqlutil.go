package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// timeLayout is how SQLite columns hold times: fixed width, so that they
// sort as strings.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// now is the database's clock: UTC, to the microsecond (PostgreSQL's
// precision), so that a time read back equals the time written.
func now() time.Time { return norm(time.Now()) }

// norm truncates t to the microsecond, in UTC.
func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func formatTime(t time.Time) string { return norm(t).Format(timeLayout) }

// ts converts a time to a query argument of the dialect.
func (d *DB) ts(t time.Time) any {
	if d.dialect == SQLite {
		return formatTime(t)
	}
	return norm(t)
}

// rebind turns "?" placeholders into PostgreSQL's "$1", "$2", ... The
// queries of this package have no "?" inside string literals.
func (d *DB) rebind(q string) string {
	if d.dialect != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// timeCol scans a time column of either dialect; NULL gives the zero time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case time.Time:
		*c.t = v.UTC()
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	return nil
}

func (c timeCol) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("scan time %q: %w", s, err)
	}
	*c.t = t.UTC()
	return nil
}

// inTx runs f in a transaction, committed if f returns nil.
func (d *DB) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// filter is a WHERE clause in the making: conditions joined by AND, and
// the arguments of their placeholders.
type filter struct {
	conds []string
	args  []any
}

// add adds the condition cond, whose placeholders take args.
func (f *filter) add(cond string, args ...any) {
	f.conds = append(f.conds, cond)
	f.args = append(f.args, args...)
}

// and is the conditions joined by AND.
func (f filter) and() string { return strings.Join(f.conds, " AND ") }

// where is " WHERE " and the conditions, or "" when there are none.
func (f filter) where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return " WHERE " + f.and()
}

// decodeCursor reads the cursor of a page (ListImages, ListScans): base64
// of a JSON object with the time of the last row under "t" and its id
// under key. Anything else is an ErrInvalid error.
func decodeCursor(s, key string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c map[string]string
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c[key] == "" {
		return time.Time{}, "", fmt.Errorf("%w: bad cursor", ErrInvalid)
	}
	t, err := time.Parse(timeLayout, c["t"])
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%w: bad cursor", ErrInvalid)
	}
	return t, c[key], nil
}
