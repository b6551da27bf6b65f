// Command etcd is the stock etcd server, built from the go.etcd.io/etcd
// server module because prebuilt release binaries cannot be downloaded here.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
