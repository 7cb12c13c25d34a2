package register

// OpenScratch opens (creating if needed) a register file for a one-off fold
// that nothing depends on surviving a crash: an auditor's replay or a
// rebuild that is switched in only once complete. Transactions are not
// synced to disk, so that a fold split into many small transactions (one
// per position an auditor looks at the register as of) stays fast; Close
// still leaves a complete file.
func OpenScratch(path string) (*Projection, error) {
	p, err := OpenProjection(path)
	if err != nil {
		return nil, err
	}
	p.db.NoSync = true
	// Nor is the list of free pages written at each commit (a big list
	// costs more than the commit): a later open rebuilds it.
	p.db.NoFreelistSync = true
	return p, nil
}

// Sync flushes a scratch register to disk.
func (p *Projection) Sync() error { return p.db.Sync() }
