package classical

import (
	"errors"
	"fmt"
)

// Options tune the classical counter. Zero values take the defaults.
type Options struct {
	GSD         float64 // metres per pixel of the images; 0 = 0.1
	MinCrownM   float64 // smallest crown diameter, metres (default 2)
	MaxCrownM   float64 // largest crown diameter, metres (default 16)
	PeakDistM   float64 // least distance between two crown tops, metres (default 5)
	MinExG      float64 // least excess green (2g-r-b)/(r+g+b) of vegetation (default 0.03)
	MinBright   float64 // darker pixels (0..255 mean of r, g, b) are shadow (default 35)
	RadiusScale float64 // crown radius = RadiusScale x distance from the top to the mask's edge (default 2)
}

// withDefaults fills the zero values.
func (o Options) withDefaults() Options {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.GSD, 0.1)
	def(&o.MinCrownM, 2)
	def(&o.MaxCrownM, 16)
	def(&o.PeakDistM, 5)
	def(&o.MinExG, 0.03)
	def(&o.MinBright, 35)
	def(&o.RadiusScale, 2)
	return o
}

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.GSD < 0 || o.GSD > 100 {
		errs = append(errs, fmt.Errorf("gsd %v m out of range", o.GSD))
	}
	if o.MinCrownM < 0 || o.MaxCrownM <= o.MinCrownM {
		errs = append(errs, fmt.Errorf("crown diameters %v..%v m invalid", o.MinCrownM, o.MaxCrownM))
	}
	if o.PeakDistM < 0 || o.MinBright < 0 || o.RadiusScale <= 0 {
		errs = append(errs, errors.New("negative peak distance or brightness, or radius scale not positive"))
	}
	return errors.Join(errs...)
}
