package esdbdouble

import (
	"context"
	"net"
	"strconv"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/google/uuid"
)

// featuresServer answers what the client asks a node when it connects: the
// methods it supports. The client turns on persistent subscriptions to
// $all only when "create" lists the "all" feature.
type featuresServer struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

const (
	streamsService    = "event_store.client.streams.streams"
	persistentService = "event_store.client.persistent_subscriptions.persistentsubscriptions"
)

// Version is what the double reports as its server version: the client
// needs a number; 0.0.0 says it is no release of the real server.
const Version = "0.0.0"

func (featuresServer) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	m := func(service, method string, features ...string) *serverfeatures.SupportedMethod {
		return &serverfeatures.SupportedMethod{ServiceName: service, MethodName: method, Features: features}
	}
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: Version,
		Methods: []*serverfeatures.SupportedMethod{
			m(streamsService, "read"),
			m(streamsService, "append"),
			m(persistentService, "create", "stream", "all"),
			m(persistentService, "delete", "stream", "all"),
			m(persistentService, "read", "stream", "all"),
		},
	}, nil
}

// gossipServer describes a one-node cluster whose node is the leader, for
// connection strings with several hosts (gossip seeds) or discovery.
type gossipServer struct {
	gossip.UnimplementedGossipServer
	d *Double
}

func (g *gossipServer) Read(context.Context, *shared.Empty) (*gossip.ClusterInfo, error) {
	host, port, _ := net.SplitHostPort(g.d.addr)
	p, _ := strconv.Atoi(port)
	return &gossip.ClusterInfo{Members: []*gossip.MemberInfo{{
		InstanceId:   uuidProto(uuid.NewSHA1(uuid.NameSpaceURL, []byte(g.d.addr))),
		State:        gossip.MemberInfo_Leader,
		IsAlive:      true,
		HttpEndPoint: &gossip.EndPoint{Address: host, Port: uint32(p)},
	}}}, nil
}
