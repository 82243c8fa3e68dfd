module sluice/clients/go

go 1.19

// The versions Debian 12 packages (golang-google-grpc-dev, golang-google-protobuf-dev):
// debian-vendor.sh links them into vendor/ for a build without network.
require (
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
