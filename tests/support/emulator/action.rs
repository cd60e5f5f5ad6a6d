//! `action.yml` read as a runner reads it: the declared inputs with their defaults, and the node entry
//! points. Kinds and values the oldest supported runners refuse are refused here too.

use std::path::{Path, PathBuf};

use super::yaml;

/// One declared input.
#[derive(Clone, Debug)]
pub struct ActionInput {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
    /// `None` when the input has no `default:` key (runners then pass an empty string).
    pub default: Option<String>,
}

/// One declared output.
#[derive(Clone, Debug)]
pub struct ActionOutput {
    pub name: String,
    pub description: Option<String>,
}

/// The parts of an action's metadata a runner acts on.
#[derive(Clone, Debug)]
pub struct Action {
    /// The folder holding `action.yml` (the checkout of `uses:`).
    pub dir: PathBuf,
    pub inputs: Vec<ActionInput>,
    pub outputs: Vec<ActionOutput>,
    pub using: String,
    pub main: String,
    pub post: Option<String>,
    /// `post-if`, `always()` when absent (the default of every runner).
    pub post_if: String,
}

/// `runs.using` values every runner family accepts: act_runner ≤ v0.2.12 rejects `node24`.
const NODE_KINDS: [&str; 3] = ["node12", "node16", "node20"];

impl Action {
    /// Reads `<dir>/action.yml` (or `action.yaml`) and checks that its entry points exist.
    pub fn load(dir: &Path) -> Result<Action, String> {
        let file = ["action.yml", "action.yaml"].into_iter().map(|f| dir.join(f)).find(|p| p.is_file());
        let file = file.ok_or_else(|| format!("no action.yml in {}", dir.display()))?;
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut action = Action::parse(&text)?;
        action.dir = dir.to_owned();
        for script in std::iter::once(&action.main).chain(&action.post) {
            if !dir.join(script).is_file() {
                return Err(format!("action.yml: runs entry point `{script}` does not exist in {}", dir.display()));
            }
        }
        Ok(action)
    }

    /// Parses the metadata text (no file checks).
    pub fn parse(text: &str) -> Result<Action, String> {
        let doc = yaml::load(text, "action.yml")?;
        let runs = doc.as_mapping_get("runs").ok_or("action.yml: no `runs:` section")?;
        let using = yaml::string(runs, "using", "runs")?.ok_or("action.yml: no `runs.using`")?;
        if !NODE_KINDS.contains(&using.as_str()) {
            return Err(format!(
                "action.yml: runs.using `{using}`: the emulator runs node actions, and only {NODE_KINDS:?} run on every \
                 runner (act_runner ≤ v0.2.12 rejects node24)"
            ));
        }
        let main = yaml::string(runs, "main", "runs")?.ok_or("action.yml: no `runs.main`")?;
        let mut inputs = Vec::new();
        if let Some(node) = doc.as_mapping_get("inputs") {
            for (name, spec) in yaml::entries(node, "inputs")? {
                let what = format!("inputs.{name}");
                inputs.push(ActionInput {
                    description: yaml::string(spec, "description", &what)?,
                    required: yaml::string(spec, "required", &what)?.is_some_and(|r| r == "true"),
                    default: yaml::string(spec, "default", &what)?,
                    name,
                });
            }
        }
        let mut outputs = Vec::new();
        if let Some(node) = doc.as_mapping_get("outputs") {
            for (name, spec) in yaml::entries(node, "outputs")? {
                let description = yaml::string(spec, "description", &format!("outputs.{name}"))?;
                outputs.push(ActionOutput { name, description });
            }
        }
        Ok(Action {
            dir: PathBuf::new(),
            inputs,
            outputs,
            main,
            post: yaml::string(runs, "post", "runs")?,
            post_if: yaml::string(runs, "post-if", "runs")?.unwrap_or_else(|| "always()".into()),
            using,
        })
    }

    pub fn input(&self, name: &str) -> Option<&ActionInput> {
        self.inputs.iter().find(|i| i.name == name)
    }
}
