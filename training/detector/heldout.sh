# heldout.sh is sourced by accuracy.sh and sweep.sh: the boxes of the sites
# held out of the detector's training, one CSV per site and folder.

# heldout_boxes DIR writes DIR/<site>.<folder>.csv (the boxes.csv format of
# `canopy-cloud eval`) for each site in VAL_SITES found in each folder of
# DATA/train.
heldout_boxes() {
	local dir=$1 folder site d
	for folder in neon_hist neon_ttv; do
		d=$DATA/train/$folder
		for site in ${VAL_SITES//,/ }; do
			awk -F, -v s="$site" 'NR > 1 && $2 == s { print $1 }' "$d/images.csv" >"$dir/names"
			[[ -s $dir/names ]] || continue
			awk -F, 'NR == FNR { keep[$1] = 1; next } FNR == 1 || ($1 in keep)' "$dir/names" "$d/annotations.csv" >"$dir/$site.$folder.csv"
		done
	done
	rm -f "$dir/names"
}

# folder_gsd FOLDER prints the folder's metres per pixel: neon_ttv's images
# are stretched from 400 to 416 pixels.
folder_gsd() {
	if [[ $1 == neon_ttv ]]; then echo 0.0961538; else echo 0.1; fi
}
