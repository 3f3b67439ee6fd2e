package main

import (
	"github.com/mydocker/mydocker/image"
	"github.com/urfave/cli"
)

var tagCommand = cli.Command{
	Name:         "tag",
	Usage:        "give an image another name",
	ArgsUsage:    "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
	OnUsageError: usageError,
	Action: func(ctx *cli.Context) error {
		if len(ctx.Args()) != 2 {
			return usageErrorf("tag needs two arguments: mydocker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")
		}
		if err := image.NewStore(storeRoot).Tag(ctx.Args()[0], ctx.Args()[1]); err != nil {
			return usageErrorf("%v", err)
		}
		return nil
	},
}
