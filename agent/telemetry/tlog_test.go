package telemetry

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
)

// sharedLog returns the real flight's log and frames folder, or skips.
func sharedLog(t testing.TB) (tlog, dir string) {
	t.Helper()
	data := os.Getenv("CANOPY_SHARED_DATA")
	if data == "" {
		t.Skip("CANOPY_SHARED_DATA is unset")
	}
	dir = filepath.Join(data, "geo", "mavlink")
	tlog = filepath.Join(dir, "flight.tlog")
	if _, err := os.Stat(tlog); err != nil {
		t.Skipf("no flight log: %v", err)
	}
	return tlog, dir
}

func TestLogReaderSynthetic(t *testing.T) {
	es := testFlight.entries()
	b := encodeLog(t, es)
	cutAt := len(encodeLog(t, es[:10])) + 13 // inside the 11th record's frame
	for _, tc := range []struct {
		name        string
		log         []byte
		wantRecords int
		wantSkipped int64
		wantErr     error
	}{
		{name: "whole", log: b, wantRecords: len(es)},
		{name: "empty", log: nil},
		{name: "cut in a frame", log: b[:cutAt], wantRecords: 10, wantErr: ErrTruncated},
		{name: "cut in a stamp", log: b[:len(encodeLog(t, es[:3]))+5], wantRecords: 3, wantErr: ErrTruncated},
		{name: "garbage between records", log: append(append(append([]byte{}, b[:len(encodeLog(t, es[:4]))]...),
			[]byte("\xfd\x09garbage that is not a record")...), b[len(encodeLog(t, es[:4])):]...),
			wantRecords: len(es), wantSkipped: 30},
		{name: "a flipped byte", log: flip(b, len(encodeLog(t, es[:7]))+20), wantRecords: len(es) - 1},
		{name: "bad bytes claiming a long frame before the last record", log: append(append(append([]byte{}, b[:len(encodeLog(t, es[:len(es)-1]))]...),
			"\x00\x05\x02\xd5\xb1\xc0\x1b\x65\xfd\xff\x00"...), b[len(encodeLog(t, es[:len(es)-1])):]...), wantRecords: len(es), wantSkipped: 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewLogReader(bytes.NewReader(tc.log))
			n := 0
			var err error
			var last time.Time
			for {
				var rec Record
				rec, err = r.Next()
				if err != nil {
					break
				}
				if rec.Time.Before(last) {
					t.Errorf("record %d at %v before %v", n, rec.Time, last)
				}
				last = rec.Time
				n++
			}
			if tc.wantErr == nil && errors.Is(err, io.EOF) {
				err = nil
			}
			if n != tc.wantRecords || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("got %d records, err %v; want %d, %v", n, err, tc.wantRecords, tc.wantErr)
			}
			if tc.wantSkipped > 0 && r.Skipped() != tc.wantSkipped {
				t.Errorf("skipped %d bytes, want %d", r.Skipped(), tc.wantSkipped)
			}
		})
	}
}

func flip(b []byte, at int) []byte {
	c := append([]byte{}, b...)
	c[at] ^= 0x55
	return c
}

// TestFlightLog reads the real flight's log whole, and cut in the middle
// of a frame.
func TestFlightLog(t *testing.T) {
	path, _ := sharedLog(t)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := NewLogReader(bytes.NewReader(raw))
	n, positions := 0, 0
	var offsets []int64
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		offsets = append(offsets, rec.Offset)
		if _, ok := rec.Frame.GetMessage().(*ardupilotmega.MessageGlobalPositionInt); ok {
			positions++
		}
	}
	if n != 32078 || positions != 1098 || r.Skipped() != 0 {
		t.Errorf("%d records, %d GLOBAL_POSITION_INT, %d bytes skipped; want 32078, 1098, 0", n, positions, r.Skipped())
	}

	// Cut in the middle of the frame of record 20000: every record before
	// it is read, then ErrTruncated.
	cut := offsets[20000] + 8 + 5
	b := NewBuffer(0, 0)
	st, err := Load(bytes.NewReader(raw[:cut]), b)
	if !errors.Is(err, ErrTruncated) || st.Records != 20000 {
		t.Errorf("cut log: %d records, %v; want 20000 and ErrTruncated", st.Records, err)
	}
}

// gpiTrack is the log's GLOBAL_POSITION_INT samples of vehicle 2, at
// their record times, read here independently of Buffer.
type gpiSample struct {
	t        time.Time
	lat, lon float64
}

func gpiTrack(t *testing.T, path string) []gpiSample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewLogReader(f)
	var out []gpiSample
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if m, ok := rec.Frame.GetMessage().(*ardupilotmega.MessageGlobalPositionInt); ok && rec.Frame.GetSystemID() == 2 {
			out = append(out, gpiSample{rec.Time, float64(m.Lat) / 1e7, float64(m.Lon) / 1e7})
		}
	}
	return out
}

// TestFlightFrames places the five frames of the real flight, each at the
// UTC time its name gives: within 2 m of the log's GLOBAL_POSITION_INT
// track at that time, from a sample within 1 s.
func TestFlightFrames(t *testing.T) {
	path, _ := sharedLog(t)
	in, err := Open("tlog:"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	track := gpiTrack(t, path)
	for _, name := range []string{"exif2016111223464876Z", "raw2016111223465120Z", "raw2016111223465160Z", "raw2016111223465213Z", "exif2016111223465337Z"} {
		at, err := time.Parse("20060102150405.00", name[len(name)-17:len(name)-3]+"."+name[len(name)-3:len(name)-1])
		if err != nil {
			t.Fatal(err)
		}
		s, err := in.StateAt(t.Context(), at)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// The track at that time: the two samples around it.
		var i int
		for i = 1; i < len(track) && track[i].t.Before(at); i++ {
		}
		a, c := track[i-1], track[i]
		f := at.Sub(a.t).Seconds() / c.t.Sub(a.t).Seconds()
		lat, lon := a.lat+(c.lat-a.lat)*f, a.lon+(c.lon-a.lon)*f
		nearest := min(at.Sub(a.t), c.t.Sub(at))
		d := metres(s.Lat, s.Lon, lat, lon)
		t.Logf("%s at %s: %.7f %.7f, %.1f m above home, yaw %.1f; %.2f m from the track, nearest sample %v away",
			name, at.Format("15:04:05.00"), s.Lat, s.Lon, s.HeightM, s.YawDeg, d, nearest)
		if d > 2 || nearest > time.Second || s.HeightM < 10 || s.HeightM > 25 || !s.HasAttitude {
			t.Errorf("%s: %.2f m from the track, nearest sample %v away, height %.1f, attitude %v", name, d, nearest, s.HeightM, s.HasAttitude)
		}
	}
	first, last, _ := in.Span()
	if _, err := in.StateAt(t.Context(), first.Add(-time.Minute)); !errors.Is(err, ErrOutside) {
		t.Errorf("a minute before the log: %v, want ErrOutside", err)
	}
	if _, err := in.StateAt(t.Context(), last.Add(time.Hour)); !errors.Is(err, ErrOutside) {
		t.Errorf("an hour after the log: %v, want ErrOutside", err)
	}
}

func TestOpenLogErrors(t *testing.T) {
	dir := t.TempDir()
	noPos := filepath.Join(dir, "nopos.tlog")
	es := []entry{{testFlight.t0, 1, &ardupilotmega.MessageHeartbeat{Type: ardupilotmega.MAV_TYPE_QUADROTOR}}}
	if err := os.WriteFile(noPos, encodeLog(t, es), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{"tlog:" + filepath.Join(dir, "missing.tlog"), "tlog:" + noPos, "tlog:", "bogus:x"} {
		if _, err := Open(spec, Options{}); err == nil {
			t.Errorf("Open(%q): no error", spec)
		}
	}
}

func TestReckon(t *testing.T) {
	// The dead-reckoning and distance agree: 10 m/s east for 1 s is 10 m.
	p := position{t: testFlight.t0, lat: 47, lon: 8, ve: 10}
	q := p.reckon(p.t.Add(time.Second))
	if d := metres(p.lat, p.lon, q.lat, q.lon); math.Abs(d-10) > 0.01 {
		t.Errorf("10 m/s for 1 s: %.3f m", d)
	}
}

func FuzzLogReader(f *testing.F) {
	f.Add(encodeLog(f, testFlight.entries()[:20]))
	f.Add([]byte{})
	f.Add([]byte("\x00\x05\x02\xd5\xb1\xc0\x1b\x65\xfd\xff\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewLogReader(bytes.NewReader(b))
		var consumed int64
		for i := 0; ; i++ {
			rec, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrTruncated) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if rec.Offset < consumed || int(rec.Offset)+8+len(rec.Raw) > len(b) || rec.Frame == nil {
				t.Fatalf("record %d at %d (+%d) of %d bytes", i, rec.Offset, len(rec.Raw), len(b))
			}
			consumed = rec.Offset + 8 + int64(len(rec.Raw))
		}
		if r.Offset() > int64(len(b)) {
			t.Fatalf("offset %d past %d bytes", r.Offset(), len(b))
		}
	})
}
