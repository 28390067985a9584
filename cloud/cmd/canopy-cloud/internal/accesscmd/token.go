package accesscmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/canopy-forest/canopy/cloud/api"
	"github.com/canopy-forest/canopy/cloud/cmd/canopy-cloud/internal/site"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/internal/cli"
)

const tokenUsage = `usage:
  canopy-cloud token create --scope read|write|metrics|admin [--name NAME] [--device ID] [--expires DURATION|RFC3339] [--data DIR | --database-url URL]
  canopy-cloud token list [--json] [--data DIR | --database-url URL]
  canopy-cloud token revoke ID-or-NAME [--data DIR | --database-url URL]`

// Token is canopy-cloud token create|list|revoke.
var Token = tokenCommand(os.Stdout, os.Stderr)

// tokenCommand is canopy-cloud token, printing on stdout and stderr.
func tokenCommand(stdout, stderr io.Writer) cli.Command {
	return cli.Command{
		Name:    "token",
		Summary: "create, list and revoke API tokens (token create|list|revoke)",
		Usage:   tokenUsage,
		Sub: []cli.Command{
			{Name: "create", Summary: "create a token and print its secret, once", Run: func(args []string) error { return tokenCreate(args, stdout, stderr) }},
			{Name: "list", Summary: "list the tokens, revoked and expired ones too", Run: func(args []string) error { return tokenList(args, stdout) }},
			{Name: "revoke", Summary: "revoke a token by its id or name", Run: func(args []string) error { return tokenRevoke(args, stdout, stderr) }},
		},
	}
}

func runToken(args []string, stdout, stderr io.Writer) error {
	c := tokenCommand(stdout, stderr)
	return c.Exec(args)
}

// tokenFlags are the flags every token command takes: where the database
// is. usage is the command's usage line.
func tokenFlags(name, usage string, c *config.Serve, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("token "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cli.SetUsage(fs, usage)
	site.DBFlags(fs, c)
	return fs
}

// tokenCreate: token create --scope read|write [--name N] [--device ID]
// [--expires D]. The secret alone goes to stdout.
func tokenCreate(args []string, stdout, stderr io.Writer) error {
	c := config.DefaultServe()
	fs := tokenFlags("create", "usage: canopy-cloud token create --scope read|write|metrics|admin [--name NAME] [--device ID] [--expires DURATION|RFC3339] [--data DIR | --database-url URL]\n\n"+
		"Creates an API token and prints its secret on stdout, once: only its hash is stored. Flags:", &c, stderr)
	scope := fs.String("scope", "read", "read; write (which includes read); metrics (GET /metrics only); admin (everything, the audit trail included)")
	name := fs.String("name", "", "a `name` to remember the token by")
	device := fs.String("device", "", "bind the token to the device `ID`: it may upload only that device's images (needs --scope write)")
	expires := fs.String("expires", "", "when the token stops working: a `duration` from now (90d, 720h, 30m) or an RFC 3339 time; default never")
	pos, help, err := cli.ParseInterspersed(fs, args)
	if help || err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	created := time.Now().UTC().Truncate(time.Microsecond)
	var errs []error
	if !db.ValidScope(*scope) {
		errs = append(errs, fmt.Errorf("--scope %q: want read, write, metrics or admin", *scope))
	}
	if *device != "" {
		if err := db.ValidDevice(*device); err != nil {
			errs = append(errs, fmt.Errorf("--device: %w", err))
		} else if *scope != db.ScopeWrite {
			errs = append(errs, errors.New("--device binds a token for uploads: give --scope write too"))
		}
	}
	if len(*name) > 128 {
		errs = append(errs, errors.New("--name: longer than 128 bytes"))
	}
	exp, err := parseExpiry(*expires, created)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	t := db.Token{Scope: *scope, Name: *name, Device: *device, CreatedAt: created, ExpiresAt: exp}
	return site.WithDatabase(c, func(ctx context.Context, d *db.DB) error {
		return createToken(ctx, d, t, stdout, stderr)
	})
}

// createToken stores t with a new secret, records it in the audit trail
// and prints the secret, alone, on stdout.
func createToken(ctx context.Context, d *db.DB, t db.Token, stdout, stderr io.Writer) error {
	secret := api.NewToken()
	t.Hash = api.HashToken(secret)
	if err := d.CreateToken(ctx, t); err != nil {
		return err
	}
	var what []string
	what = append(what, "scope "+t.Scope)
	if t.Name != "" {
		what = append(what, fmt.Sprintf("name %q", t.Name))
	}
	if t.Device != "" {
		what = append(what, "device "+t.Device)
	}
	if !t.ExpiresAt.IsZero() {
		what = append(what, "expires "+t.ExpiresAt.Format(time.RFC3339))
	}
	if err := site.Audit(ctx, d, db.AuditTokenCreate, t.ID(), strings.Join(what, ", ")); err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	fmt.Fprintf(stderr, "token %s created (%s); it is shown only once: keep it\n", t.ID(), strings.Join(what, ", "))
	return nil
}

// parseExpiry reads --expires: "" (never), a positive duration from now
// (Go's units, and d for days: 90d, 720h, 1h30m) or an RFC 3339 time after
// now.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if !t.After(now) {
			return time.Time{}, fmt.Errorf("--expires %s: that time has passed", s)
		}
		return t.UTC(), nil
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days > 100*365 {
			return time.Time{}, fmt.Errorf("--expires %q: want a duration (90d, 720h, 30m) or an RFC 3339 time (2027-01-01T00:00:00Z)", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return time.Time{}, fmt.Errorf("--expires %q: want a duration (90d, 720h, 30m) or an RFC 3339 time (2027-01-01T00:00:00Z)", s)
		}
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("--expires %s: want a duration after now", s)
	}
	return now.Add(d).UTC(), nil
}

// tokenView is one token in token list --json: never its hash or secret.
type tokenView struct {
	ID         string     `json:"id"`
	Scope      string     `json:"scope"`
	Name       string     `json:"name"`
	Device     string     `json:"device"` // "": not bound
	State      string     `json:"state"`  // active, expired or revoked
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`   // null: never
	RevokedAt  *time.Time `json:"revoked_at"`   // null: not revoked
	LastUsedAt *time.Time `json:"last_used_at"` // null: never used
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// tokenList: token list [--json], oldest first, revoked and expired ones
// included.
func tokenList(args []string, stdout io.Writer) error {
	c := config.DefaultServe()
	fs := tokenFlags("list", "usage: canopy-cloud token list [--json] [--data DIR | --database-url URL]\n\n"+
		"Lists the tokens, oldest first, revoked and expired ones too; never a secret or a hash. Flags:", &c, os.Stderr)
	asJSON := fs.Bool("json", false, "print a JSON array")
	pos, help, err := cli.ParseInterspersed(fs, args)
	if help || err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	var ts []db.Token
	if err := site.WithExistingDatabase(c, func(ctx context.Context, d *db.DB) (err error) {
		ts, err = d.ListTokens(ctx)
		return err
	}); err != nil {
		return err
	}
	now := time.Now()
	views := make([]tokenView, 0, len(ts))
	for _, t := range ts {
		views = append(views, tokenView{
			ID: t.ID(), Scope: t.Scope, Name: t.Name, Device: t.Device, State: t.State(now),
			CreatedAt: t.CreatedAt, ExpiresAt: timePtr(t.ExpiresAt), RevokedAt: timePtr(t.RevokedAt), LastUsedAt: timePtr(t.LastUsedAt),
		})
	}
	if *asJSON {
		return cli.PrintJSON(stdout, views)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSCOPE\tNAME\tDEVICE\tSTATE\tCREATED\tEXPIRES\tLAST USED")
	show := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	at := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Scope, show(v.Name), show(v.Device), v.State,
			at(&v.CreatedAt), at(v.ExpiresAt), at(v.LastUsedAt))
	}
	return tw.Flush()
}

// tokenRevoke: token revoke ID-or-NAME.
func tokenRevoke(args []string, stdout, stderr io.Writer) error {
	c := config.DefaultServe()
	fs := tokenFlags("revoke", "usage: canopy-cloud token revoke ID-or-NAME [--data DIR | --database-url URL]\n\n"+
		"Revokes the token with that id (token list shows them, or a longer prefix of its hash) or name. Flags:", &c, stderr)
	pos, help, err := cli.ParseInterspersed(fs, args)
	if help || err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("want one token id or name (canopy-cloud token list shows them)\n%s", tokenUsage)
	}
	return site.WithExistingDatabase(c, func(ctx context.Context, d *db.DB) error {
		return revokeToken(ctx, d, pos[0], stdout, stderr)
	})
}

// revokeToken revokes the token that ref names (findToken) and records it
// in the audit trail.
func revokeToken(ctx context.Context, d *db.DB, ref string, stdout, stderr io.Writer) error {
	ts, err := d.ListTokens(ctx)
	if err != nil {
		return err
	}
	t, err := findToken(ts, ref)
	if err != nil {
		return err
	}
	revoked, err := d.RevokeToken(ctx, t.Hash)
	if err != nil {
		return err
	}
	if !revoked {
		fmt.Fprintf(stderr, "token %s%s was already revoked at %s\n", t.ID(), nameSuffix(t.Name), t.RevokedAt.UTC().Format(time.RFC3339))
		return nil
	}
	if err := site.Audit(ctx, d, db.AuditTokenRevoke, t.ID(), fmt.Sprintf("name %q, scope %s", t.Name, t.Scope)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked token %s%s\n", t.ID(), nameSuffix(t.Name))
	fmt.Fprintln(stderr, "requests with it get 401 from now on")
	return nil
}

func nameSuffix(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", name)
}

// minIDPrefix is the shortest hash prefix that token revoke takes as an id.
const minIDPrefix = 8

// findToken picks the token that ref names: its id (or any prefix of its
// hash at least minIDPrefix hex digits long) or its name. When ref names
// several, those not yet revoked are preferred; more than one is an error.
func findToken(ts []db.Token, ref string) (db.Token, error) {
	if ref == "" {
		return db.Token{}, errors.New("empty token id or name")
	}
	isHex := len(ref) >= minIDPrefix && strings.Trim(strings.ToLower(ref), "0123456789abcdef") == ""
	var found []db.Token
	for _, t := range ts {
		if t.Name == ref || isHex && strings.HasPrefix(t.Hash, strings.ToLower(ref)) {
			found = append(found, t)
		}
	}
	if len(found) > 1 {
		var live []db.Token
		for _, t := range found {
			if t.RevokedAt.IsZero() {
				live = append(live, t)
			}
		}
		if len(live) > 0 {
			found = live
		}
	}
	switch len(found) {
	case 0:
		return db.Token{}, fmt.Errorf("no token with id or name %q (canopy-cloud token list shows them)", ref)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, t := range found {
		ids[i] = t.ID()
	}
	return db.Token{}, fmt.Errorf("%q names %d tokens (ids %s): revoke one by its id", ref, len(found), strings.Join(ids, ", "))
}
