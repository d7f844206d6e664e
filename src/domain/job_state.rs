use std::fmt;

/// A job's life: previewed (targets frozen, waiting for confirmation) → queued →
/// running → done | cancelled | failed. A preview nobody confirms is discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Preview,
    Queued,
    Running,
    Done,
    Cancelled,
    Failed,
    Discarded,
}

impl JobState {
    pub const ALL: [JobState; 7] = [
        JobState::Preview,
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Cancelled,
        JobState::Failed,
        JobState::Discarded,
    ];

    /// The value of `jobs.state`.
    pub const fn key(self) -> &'static str {
        match self {
            JobState::Preview => "preview",
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Cancelled => "cancelled",
            JobState::Failed => "failed",
            JobState::Discarded => "discarded",
        }
    }

    pub fn parse(key: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Whether the job has ended, one way or another.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Cancelled | JobState::Failed | JobState::Discarded
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A stored state nobody wrote: read as an error, never guessed.
#[derive(Debug, thiserror::Error)]
#[error("unknown job state {0:?}")]
pub struct UnknownJobState(pub String);

impl TryFrom<String> for JobState {
    type Error = UnknownJobState;

    fn try_from(key: String) -> Result<JobState, UnknownJobState> {
        JobState::parse(&key).ok_or(UnknownJobState(key))
    }
}

impl From<JobState> for String {
    fn from(state: JobState) -> String {
        state.key().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_unknown_ones_are_errors() {
        for state in JobState::ALL {
            assert_eq!(JobState::try_from(state.key().to_owned()).ok(), Some(state));
        }
        assert!(JobState::try_from("paused".to_owned()).is_err());
    }

    #[test]
    fn only_ended_states_are_finished() {
        let finished: Vec<_> = JobState::ALL.into_iter().filter(|s| s.is_finished()).collect();
        assert_eq!(
            finished,
            [
                JobState::Done,
                JobState::Cancelled,
                JobState::Failed,
                JobState::Discarded
            ]
        );
    }
}
