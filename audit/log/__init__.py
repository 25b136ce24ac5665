"""The transparency log's server side: leaves and nodes stored beside the events, the
sequencer, signed checkpoints, proofs, audit bundle export."""
