package watermillstore

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"lifesituations/domain/eventstore"
)

// Checkpoints stores how far each consumer has got: the position of the last
// event it has finished with (acknowledged or skipped), 0 when it has none.
type Checkpoints interface {
	Load(ctx context.Context, key string) (eventstore.Position, error)
	Save(ctx context.Context, key string, pos eventstore.Position) error
}

// CheckpointKey is the key a subscription of group to topic keeps its
// checkpoint under: the quoted group and topic, and "index/count" when
// partitioned. Changing the partition count changes the keys, so the new
// partitions start from the beginning of the log: redelivery, never a gap.
func CheckpointKey(group, topic string, p *Partition) string {
	key := strconv.Quote(group) + " " + strconv.Quote(topic)
	if p != nil {
		key += fmt.Sprintf(" %d/%d", p.Index, p.Count)
	}
	return key
}

// MemoryCheckpoints keeps checkpoints in memory: for tests and for
// consumers whose work is rebuilt from the start of the log at each run.
type MemoryCheckpoints struct {
	mu  sync.Mutex
	pos map[string]eventstore.Position
}

// NewMemoryCheckpoints returns empty in-memory checkpoints.
func NewMemoryCheckpoints() *MemoryCheckpoints {
	return &MemoryCheckpoints{pos: map[string]eventstore.Position{}}
}

// Load returns the checkpoint saved under key, 0 when none.
func (c *MemoryCheckpoints) Load(ctx context.Context, key string) (eventstore.Position, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos[key], nil
}

// Save sets the checkpoint of key.
func (c *MemoryCheckpoints) Save(ctx context.Context, key string, pos eventstore.Position) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pos[key] = pos
	return nil
}
