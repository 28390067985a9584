# heldout.sh is sourced, from the repository's root, by accuracy.sh,
# sweep.sh and countrules.sh: their shared settings, a temporary folder
# $tmp (removed on exit), and the boxes of the sites held out of the
# detector's training, one CSV per site and folder.

DATA=${DATA:-../shared/data}
VAL_SITES=${VAL_SITES:-DELA,BONA,OSBS}
MODEL=${MODEL:-models/crown-detector.onnx}
export CANOPY_ORT_LIB=${CANOPY_ORT_LIB:-$PWD/.cache/onnxruntime/linux-amd64/libonnxruntime.so.1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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
