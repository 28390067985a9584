package register

// Options tune feature matching. Zero fields take the defaults.
type Options struct {
	// MatchSide is the longest side, in pixels, of the view a photo is
	// matched at (default 1024): memory and time per photo are bounded by
	// it, whatever the camera.
	MatchSide int
	// DetectSide is the longer side of the copy SIFT looks at (default
	// 512; SIFT doubles it first): a quarter of the view's pixels, a
	// quarter of the time and memory, the view's resolution all the same.
	DetectSide int
	// MaxFeatures keeps the strongest keypoints of a photo (default 2000).
	MaxFeatures int
	// Ratio is Lowe's ratio test: a match is kept when its descriptor is
	// nearer than Ratio times the second nearest (default 0.8).
	Ratio float64
	// GuidedRatio is the ratio test among the keypoints near where the
	// guide puts a point (default 0.9), GuideRadiusPx how near, in view
	// pixels (default 25 at a MatchSide of 1024, in proportion).
	GuidedRatio   float64
	GuideRadiusPx float64
	// MinSeed is the fewest inliers of the similarity that guides the
	// matching (default 8), found among the SeedFeatures strongest
	// keypoints of each photo (default 600): matching all of them
	// against all costs the square.
	MinSeed      int
	SeedFeatures int
	// ReprojPx is RANSAC's inlier threshold in view pixels (default 8 at
	// a MatchSide of 1024, in proportion: about half a metre for a drone
	// photo; relief moves crowns against the ground by more than a pixel
	// or two between photos).
	ReprojPx float64
	// MinInliers is the fewest RANSAC inliers a pair is accepted with
	// (default 25), MinInlierShare the smallest share of the ratio-test
	// matches they must be (default 0.1).
	MinInliers     int
	MinInlierShare float64
	// MinScale and MaxScale bound the scale between two photos of a pair
	// (default 0.5 and 2: a drone flies at one height).
	MinScale, MaxScale float64
	// MaxCorr is the most inlier correspondences kept per pair for the
	// scan's adjustment (default 60).
	MaxCorr int
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o Options) WithDefaults() Options {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	defi := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defi(&o.MatchSide, 1024)
	defi(&o.DetectSide, 512)
	defi(&o.MaxFeatures, 2000)
	defi(&o.MinInliers, 25)
	defi(&o.MaxCorr, 60)
	def(&o.Ratio, 0.8)
	def(&o.GuidedRatio, 0.9)
	def(&o.GuideRadiusPx, 25*float64(o.MatchSide)/1024)
	defi(&o.MinSeed, 8)
	defi(&o.SeedFeatures, 600)
	def(&o.ReprojPx, 8*float64(o.MatchSide)/1024)
	def(&o.MinInlierShare, 0.1)
	def(&o.MinScale, 0.5)
	def(&o.MaxScale, 2)
	return o
}
