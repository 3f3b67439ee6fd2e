package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/mydocker/mydocker/container"
	"github.com/mydocker/mydocker/network"
	"github.com/urfave/cli"
)

// networkCommand is the book's chapter 6: `network create`, `ls` (the
// book's `list`), `inspect` and `rm` (the book's `remove`). A failure is
// one line on stderr and status 1; a bad flag is 125.
var networkCommand = cli.Command{
	Name:  "network",
	Usage: "manage bridge networks (the book's chapter 6)",
	Subcommands: []cli.Command{
		{
			Name:         "create",
			Usage:        "create a bridge network",
			ArgsUsage:    "--subnet CIDR NAME",
			OnUsageError: usageError,
			Flags: []cli.Flag{
				cli.StringFlag{Name: "driver, d", Value: "bridge", Usage: "the network driver: bridge"},
				cli.StringFlag{Name: "subnet", Usage: "the subnet, e.g. 192.168.10.0/24 (the book's 192.168.10.1/24 reads the same)"},
			},
			Action: func(ctx *cli.Context) error {
				if err := needRoot("network create"); err != nil {
					return err
				}
				if len(ctx.Args()) != 1 || ctx.String("subnet") == "" {
					return usageErrorf("network create needs a subnet and a name: mydocker network create --subnet 192.168.10.0/24 NAME")
				}
				n, err := network.Create(storeRoot, ctx.Args()[0], ctx.String("driver"), ctx.String("subnet"))
				if err != nil {
					return &statusError{status: 1, msg: err.Error()}
				}
				fmt.Println(n.Name)
				return nil
			},
		},
		{
			Name:         "ls",
			Aliases:      []string{"list"},
			Usage:        "list networks",
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				nets, err := network.List(storeRoot)
				if err != nil {
					return &statusError{status: 1, msg: err.Error()}
				}
				w := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
				fmt.Fprintln(w, "NAME\tDRIVER\tSUBNET\tGATEWAY\tBRIDGE")
				for _, n := range nets {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", n.Name, n.Driver, &n.Subnet, n.Gateway, n.Bridge)
				}
				return w.Flush()
			},
		},
		{
			Name:         "inspect",
			Usage:        "print networks as JSON: subnet, gateway, containers and their addresses",
			ArgsUsage:    "NETWORK [NETWORK...]",
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				if len(ctx.Args()) == 0 {
					return usageErrorf("network inspect needs a network: mydocker network inspect NETWORK")
				}
				var out []any
				for _, name := range ctx.Args() {
					n, err := network.Get(storeRoot, name)
					if err != nil {
						return &statusError{status: 1, msg: err.Error()}
					}
					out = append(out, inspectNetwork(n))
				}
				data, _ := json.MarshalIndent(out, "", "    ")
				fmt.Println(string(data))
				return nil
			},
		},
		{
			Name:         "rm",
			Aliases:      []string{"remove"},
			Usage:        "remove networks no running container uses",
			ArgsUsage:    "NETWORK [NETWORK...]",
			OnUsageError: usageError,
			Action: func(ctx *cli.Context) error {
				if err := needRoot("network rm"); err != nil {
					return err
				}
				if len(ctx.Args()) == 0 {
					return usageErrorf("network rm needs a network: mydocker network rm NETWORK")
				}
				failed := false
				for _, name := range ctx.Args() {
					if err := network.Remove(storeRoot, name, container.Alive); err != nil {
						fmt.Fprintf(os.Stderr, "mydocker: %v\n", err)
						failed = true
						continue
					}
					fmt.Println(name)
				}
				if failed {
					return exitWith(1)
				}
				return nil
			},
		},
	},
}

// inspectNetwork is docker's network inspect, with the containers running
// on it and their addresses.
func inspectNetwork(n *network.Network) map[string]any {
	containers := map[string]any{}
	list, _ := container.List(storeRoot)
	for _, s := range list {
		if s.Running && s.Network == n.Name {
			ones, _ := n.Subnet.Mask.Size()
			containers[s.ID] = map[string]any{"Name": s.Name, "IPv4Address": fmt.Sprintf("%s/%d", s.IPAddress, ones)}
		}
	}
	return map[string]any{
		"Name":       n.Name,
		"Driver":     n.Driver,
		"IPAM":       map[string]any{"Config": []any{map[string]string{"Subnet": n.Subnet.String(), "Gateway": n.Gateway.String()}}},
		"Options":    map[string]string{"bridge": n.Bridge},
		"Containers": containers,
	}
}

func needRoot(what string) error {
	if os.Geteuid() != 0 {
		return usageErrorf("%s needs root privileges (try sudo)", what)
	}
	return nil
}
