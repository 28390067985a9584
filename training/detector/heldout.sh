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

# heldout_boxes DIR writes, for each site in VAL_SITES found in each folder
# of DATA/train, DIR/<site>.<folder>.csv (the boxes.csv format of
# `canopy-cloud eval`) and DIR/<site>.<folder>/, a folder of links to the
# site's images (eval scores every image in its folder, those without boxes
# as having no trees).
heldout_boxes() {
	local dir=$1 folder site d
	for folder in neon_hist neon_ttv; do
		d=$DATA/train/$folder
		for site in ${VAL_SITES//,/ }; do
			awk -F, -v s="$site" 'NR > 1 && $2 == s { print $1 }' "$d/images.csv" >"$dir/names"
			[[ -s $dir/names ]] || continue
			subset "$dir/names" "$d/annotations.csv" "$d/images" "$dir/$site.$folder"
		done
	done
	rm -f "$dir/names"
}

# raw_trees DIR writes DIR/<site>.trees.csv and DIR/<site>.trees/ for the
# plots of DATA/trees from sites never trained on (RAW_TREES, default
# OSBS_029 and SOAP_061; the third plot there is SJER, a training site).
raw_trees() {
	local dir=$1 site names=${RAW_TREES:-OSBS_029.png SOAP_061.png}
	for site in $(printf '%s\n' $names | sed 's/_.*//' | sort -u); do
		printf '%s\n' $names | grep "^${site}_" >"$dir/names"
		subset "$dir/names" "$DATA/trees/boxes.csv" "$DATA/trees" "$dir/$site.trees"
	done
	rm -f "$dir/names"
}

# subset NAMES BOXES IMAGES OUT writes OUT.csv, the rows of BOXES for the
# images listed in NAMES, and OUT/, links to those images in IMAGES.
subset() {
	local names=$1 boxes=$2 images=$3 out=$4 n
	awk -F, 'NR == FNR { keep[$1] = 1; next } FNR == 1 || ($1 in keep)' "$names" "$boxes" >"$out.csv"
	mkdir -p "$out"
	while read -r n; do
		ln -s "$(realpath "$images/$n")" "$out/$n"
	done <"$names"
}

# folder_gsd FOLDER prints the folder's metres per pixel: neon_ttv's images
# are stretched from 400 to 416 pixels.
folder_gsd() {
	if [[ $1 == neon_ttv* ]]; then echo 0.0961538; else echo 0.1; fi
}
