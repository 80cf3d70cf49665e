//! Channels between actors, with a declared discipline: what may be received next, and whether a
//! message may be lost. A model keeps channels in its state and turns each receive choice into
//! an action, so the engine explores exactly the orders the discipline allows.

use serde::Serialize;

/// How a channel delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Discipline {
    /// In order, nothing lost (a socket, a pipe, a single-consumer work queue).
    Fifo,
    /// Any pending message may be received next (independent sources, a thread pool).
    Unordered,
    /// In order, but the head may be dropped instead of received (a lossy link, a throttled
    /// event that can be coalesced away).
    Lossy,
}

impl std::hash::Hash for Discipline {
    /// One byte, so that states holding channels keep stable fingerprints across versions.
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (*self as u8).hash(h)
    }
}

/// What receiving can do next: take message `index`, or drop it (lossy channels only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Receive {
    /// Deliver the message at this index.
    Take(usize),
    /// Lose the message at this index.
    Drop(usize),
}

/// A channel of messages `T` with a discipline. Serialises as the list of pending messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Channel<T> {
    #[serde(skip)]
    discipline: Discipline,
    pending: Vec<T>,
}

impl<T: Clone + PartialEq> Channel<T> {
    /// An empty channel.
    pub fn new(discipline: Discipline) -> Self {
        Channel {
            discipline,
            pending: Vec::new(),
        }
    }

    /// An empty FIFO channel.
    pub fn fifo() -> Self {
        Self::new(Discipline::Fifo)
    }

    /// The channel's discipline.
    pub fn discipline(&self) -> Discipline {
        self.discipline
    }

    /// Sends a message.
    pub fn send(&mut self, message: T) {
        self.pending.push(message);
    }

    /// The receive choices available now, in a deterministic order. An unordered channel
    /// offers one choice per distinct pending message (equal messages are interchangeable).
    pub fn choices(&self) -> Vec<Receive> {
        match self.discipline() {
            Discipline::Fifo if !self.pending.is_empty() => vec![Receive::Take(0)],
            Discipline::Lossy if !self.pending.is_empty() => {
                vec![Receive::Take(0), Receive::Drop(0)]
            }
            Discipline::Unordered => (0..self.pending.len())
                .filter(|&i| !self.pending[..i].contains(&self.pending[i]))
                .map(Receive::Take)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The message a choice would deliver (`None` for a drop).
    pub fn peek(&self, choice: Receive) -> Option<&T> {
        match choice {
            Receive::Take(i) => self.pending.get(i),
            Receive::Drop(_) => None,
        }
    }

    /// Applies a choice: removes the message and returns it if it is delivered.
    pub fn receive(&mut self, choice: Receive) -> Option<T> {
        match choice {
            Receive::Take(i) => Some(self.pending.remove(i)),
            Receive::Drop(i) => {
                self.pending.remove(i);
                None
            }
        }
    }

    /// Removes and returns the next message in order (`Receive::Take(0)`), if any.
    pub fn pop_front(&mut self) -> Option<T> {
        (!self.pending.is_empty()).then(|| self.pending.remove(0))
    }

    /// The next message in order, if any.
    pub fn first(&self) -> Option<&T> {
        self.pending.first()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Pending messages, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.pending.iter()
    }

    /// Drops everything pending (the other end closed).
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Keeps only the messages `keep` accepts.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.pending.retain(keep);
    }

    /// Mutable access to the oldest message.
    pub fn first_mut(&mut self) -> Option<&mut T> {
        self.pending.first_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_offers_the_head_only() {
        let mut c = Channel::fifo();
        assert!(c.choices().is_empty());
        c.send(1);
        c.send(2);
        assert_eq!(c.choices(), vec![Receive::Take(0)]);
        assert_eq!(c.receive(Receive::Take(0)), Some(1));
        assert_eq!(serde_json::to_string(&c).unwrap(), "[2]");
    }

    #[test]
    fn unordered_offers_each_distinct_message() {
        let mut c = Channel::new(Discipline::Unordered);
        for m in [3, 1, 3] {
            c.send(m);
        }
        assert_eq!(c.choices(), vec![Receive::Take(0), Receive::Take(1)]);
        assert_eq!(c.receive(Receive::Take(1)), Some(1));
    }

    #[test]
    fn lossy_may_drop_the_head() {
        let mut c = Channel::new(Discipline::Lossy);
        c.send('a');
        c.send('b');
        assert_eq!(c.choices(), vec![Receive::Take(0), Receive::Drop(0)]);
        assert_eq!(c.receive(Receive::Drop(0)), None);
        assert_eq!(c.peek(Receive::Take(0)), Some(&'b'));
    }
}
