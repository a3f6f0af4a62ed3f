"""Named parts of the stages' pictures, each a module of its own: what a stage draws that is shared by
several stages or too long to live in its stage's module (a stage stays a short generator of beats)."""
