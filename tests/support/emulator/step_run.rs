//! What one stage of one step did.

use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Main,
    Post,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure(String),
    Skipped,
}

/// One stage of one step.
#[derive(Clone, Debug)]
pub struct StepRun {
    pub id: Option<String>,
    pub label: String,
    pub stage: Stage,
    pub outcome: Outcome,
    pub exit_code: Option<i32>,
    /// stdout and stderr as the process wrote them, before masking (for assertions only).
    pub output: String,
    pub outputs: BTreeMap<String, String>,
    pub state: BTreeMap<String, String>,
    pub summary: String,
    /// The environment the process started with.
    pub env: BTreeMap<String, String>,
}

impl StepRun {
    pub(super) fn empty(id: Option<String>, label: String, stage: Stage, outcome: Outcome) -> StepRun {
        StepRun {
            id,
            label,
            stage,
            outcome,
            exit_code: None,
            output: String::new(),
            outputs: BTreeMap::new(),
            state: BTreeMap::new(),
            summary: String::new(),
            env: BTreeMap::new(),
        }
    }
}
