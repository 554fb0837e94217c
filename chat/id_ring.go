package chat

// idRing is a bounded set of ids that forgets the oldest first.
type idRing struct {
	ids  []string
	next int
	set  map[string]struct{}
}

func newIDRing(n int) *idRing {
	return &idRing{ids: make([]string, 0, n), set: make(map[string]struct{}, n)}
}

func (r *idRing) has(id string) bool {
	_, ok := r.set[id]
	return ok
}

func (r *idRing) add(id string) {
	if r.has(id) {
		return
	}
	if len(r.ids) < cap(r.ids) {
		r.ids = append(r.ids, id)
	} else {
		delete(r.set, r.ids[r.next])
		r.ids[r.next] = id
		r.next = (r.next + 1) % len(r.ids)
	}
	r.set[id] = struct{}{}
}

// list returns the ids oldest first.
func (r *idRing) list() []string {
	if len(r.ids) < cap(r.ids) {
		return append([]string(nil), r.ids...)
	}
	return append(append([]string(nil), r.ids[r.next:]...), r.ids[:r.next]...)
}
