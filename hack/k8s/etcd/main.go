// Command etcd is the etcd server, built from the Go module proxy because its
// release binaries cannot be downloaded everywhere envtest has to run.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
