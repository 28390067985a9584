package db

import (
	"errors"
	"fmt"
	"math"
)

// validID checks an identifier (item, scan, address id): 1..128 bytes with
// no control characters.
func validID(what, s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	}
	if len(s) > 128 {
		return fmt.Errorf("%w: %s longer than 128 bytes", ErrInvalid, what)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return fmt.Errorf("%w: %s %q has a control character", ErrInvalid, what, s)
		}
	}
	return nil
}

// ValidDevice checks a device id: 1..64 of [A-Za-z0-9._-] (the rule of
// sync/wire, repeated here so that the database does not import the wire).
func ValidDevice(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("%w: device id %q must be 1 to 64 characters", ErrInvalid, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: device id %q has characters outside [A-Za-z0-9._-]", ErrInvalid, id)
		}
	}
	return nil
}

// ValidateImage reports every problem PutImage would find with img (each
// wraps ErrInvalid), so that a caller can refuse it before writing anything
// else.
func ValidateImage(img Image) error {
	var errs []error
	if err := validID("item id", img.ItemID); err != nil {
		errs = append(errs, err)
	}
	switch img.Origin {
	case "", OriginDevice:
		if err := ValidDevice(img.Device); err != nil {
			errs = append(errs, err)
		}
	case OriginUpload, OriginCompat:
		if img.Device != "" {
			if err := ValidDevice(img.Device); err != nil {
				errs = append(errs, err)
			}
		}
	default:
		errs = append(errs, fmt.Errorf("%w: origin %q is not device, upload or compat", ErrInvalid, img.Origin))
	}
	if img.CapturedAt.IsZero() {
		errs = append(errs, fmt.Errorf("%w: no capture time", ErrInvalid))
	}
	if img.RawKey == "" && img.State != StateImageEvicted {
		errs = append(errs, fmt.Errorf("%w: no raw key", ErrInvalid))
	}
	if img.ScanID != "" {
		if err := validID("scan id", img.ScanID); err != nil {
			errs = append(errs, err)
		}
	}
	if img.Seq > math.MaxInt64 {
		errs = append(errs, fmt.Errorf("%w: sequence number %d too large", ErrInvalid, img.Seq))
	}
	if (img.Lat == nil) != (img.Lon == nil) {
		errs = append(errs, fmt.Errorf("%w: latitude and longitude must come together", ErrInvalid))
	}
	if img.Lat != nil && (math.IsNaN(*img.Lat) || *img.Lat < -90 || *img.Lat > 90) {
		errs = append(errs, fmt.Errorf("%w: latitude %v out of range", ErrInvalid, *img.Lat))
	}
	if img.Lon != nil && (math.IsNaN(*img.Lon) || *img.Lon < -180 || *img.Lon > 180) {
		errs = append(errs, fmt.Errorf("%w: longitude %v out of range", ErrInvalid, *img.Lon))
	}
	if img.Width < 0 || img.Height < 0 {
		errs = append(errs, fmt.Errorf("%w: negative size %dx%d", ErrInvalid, img.Width, img.Height))
	}
	if math.IsNaN(img.ForestShare) || img.ForestShare < 0 || img.ForestShare > 1 {
		errs = append(errs, fmt.Errorf("%w: forest share %v outside [0, 1]", ErrInvalid, img.ForestShare))
	}
	errs = append(errs, validGround(img.Ground)...)
	return errors.Join(errs...)
}
