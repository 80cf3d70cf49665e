//! Read/write footprints over declared shared objects, the basis of the engine's independence
//! relation: two steps of different actors commute when neither writes what the other touches.

/// A shared object (a lock, a kernel table, a flag) named by a small index chosen by the model.
///
/// At most [`Footprint::MAX_OBJECTS`] objects exist per model; a model with more groups them
/// (coarser objects only make the reduction more conservative, never unsound).
pub type ObjectId = u8;

/// The shared objects a step (or an actor's whole future) may read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Footprint {
    reads: u128,
    writes: u128,
}

impl Footprint {
    /// How many distinct objects a footprint can name.
    pub const MAX_OBJECTS: usize = 128;

    /// Touches nothing shared: a purely local step.
    pub const NONE: Footprint = Footprint {
        reads: 0,
        writes: 0,
    };

    /// Reads and writes everything: the conservative default that disables reduction.
    pub const ALL: Footprint = Footprint {
        reads: u128::MAX,
        writes: u128::MAX,
    };

    /// Adds `object` to the read set.
    pub fn read(mut self, object: ObjectId) -> Self {
        self.reads |= bit(object);
        self
    }

    /// Adds `object` to the write set (a write is also a read for conflict purposes).
    pub fn write(mut self, object: ObjectId) -> Self {
        self.writes |= bit(object);
        self.reads |= bit(object);
        self
    }

    /// Union of two footprints.
    pub fn union(self, other: Footprint) -> Footprint {
        Footprint {
            reads: self.reads | other.reads,
            writes: self.writes | other.writes,
        }
    }

    /// The objects this footprint writes, as a footprint.
    pub fn writes_only(self) -> Footprint {
        Footprint {
            reads: 0,
            writes: self.writes,
        }
    }

    /// Objects present in both (reads or writes of either).
    pub fn intersection(&self, other: &Footprint) -> Footprint {
        let mine = self.reads | self.writes;
        let theirs = other.reads | other.writes;
        Footprint {
            reads: mine & theirs,
            writes: 0,
        }
    }

    /// The objects named, in increasing order.
    pub fn objects(self) -> impl Iterator<Item = ObjectId> {
        let mut bits = self.reads | self.writes;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let object = bits.trailing_zeros() as ObjectId;
            bits &= bits - 1;
            Some(object)
        })
    }

    /// True when the two footprints do not commute: one writes an object the other touches.
    pub fn conflicts(&self, other: &Footprint) -> bool {
        self.writes & (other.reads | other.writes) != 0 || other.writes & self.reads != 0
    }

    /// True when this footprint writes an object that `reads` (a property's read set) observes.
    pub fn writes_any_of(&self, reads: &Footprint) -> bool {
        self.writes & (reads.reads | reads.writes) != 0
    }
}

fn bit(object: ObjectId) -> u128 {
    assert!(
        (object as usize) < Footprint::MAX_OBJECTS,
        "object id {object} out of range"
    );
    1u128 << object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commute_writes_do_not() {
        let r0 = Footprint::NONE.read(0);
        let w0 = Footprint::NONE.write(0);
        let w1 = Footprint::NONE.write(1);
        assert!(!r0.conflicts(&r0));
        assert!(r0.conflicts(&w0));
        assert!(w0.conflicts(&r0));
        assert!(!w0.conflicts(&w1));
        assert!(Footprint::ALL.conflicts(&r0));
        assert!(!Footprint::NONE.conflicts(&Footprint::ALL));
        let f = Footprint::NONE.read(3).write(70);
        assert_eq!(f.objects().collect::<Vec<_>>(), vec![3, 70]);
        assert_eq!(f.writes_only().objects().collect::<Vec<_>>(), vec![70]);
        assert_eq!(
            f.intersection(&Footprint::NONE.read(70)).objects().count(),
            1
        );
    }
}
