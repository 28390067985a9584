// Package deploy holds the files that install canopy-cloud as a service,
// and tests that they keep their promises. It has no Go API.
//
//   - canopy-cloud.service: the hardened systemd unit (Type=notify, its own
//     user, state in /var/lib/canopy-cloud, settings in /etc/canopy);
//   - cloud.yaml: /etc/canopy/cloud.yaml of the .deb, whose keys are the
//     flags of canopy-cloud serve; image/cloud.yaml is the container
//     image's;
//   - deb/: the Debian control template and maintainer scripts.
//
// scripts/package.sh (make package) builds the .debs, the OCI image and
// the AWS Lambda function from them.
package deploy
