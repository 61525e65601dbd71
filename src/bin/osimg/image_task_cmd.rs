//! `osimg image task list|show`: Glance's asynchronous tasks (imports), shown as
//! `openstack image task` shows them.

use clap::Subcommand;
use futures_util::TryStreamExt;
use openstack_images::{ImagesApi, Task};
use serde_json::{Map, Value};

use crate::cells::{Cell, Record};
use crate::image_record::list_row;
use crate::output::{Printer, col};
use crate::{CmdResult, Fail};

#[derive(Subcommand)]
pub enum TaskCmd {
    /// List tasks, newest first (columns ID, Type, Status, Owner).
    List {
        /// Only tasks of this type (`import`, `api_image_import`).
        #[arg(long = "type", value_name = "TYPE")]
        type_: Option<String>,
        /// Only tasks in this status (pending, processing, success, failure).
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// At most this many tasks (0: no limit).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Start after this task id (tasks before it are read and skipped).
        #[arg(long, value_name = "ID")]
        marker: Option<String>,
    },
    /// Show one task by id.
    Show {
        /// Task id.
        task: String,
    },
}

/// The fields `openstack image task show` prints (openstack calls `owner` `owner_id`),
/// nulls included; the rest of the task is its (empty) `properties`, as openstacksdk's
/// Task keeps no field it does not declare.
const TASK_FIELDS: [(&str, &str); 10] = [
    ("created_at", "created_at"),
    ("expires_at", "expires_at"),
    ("id", "id"),
    ("input", "input"),
    ("message", "message"),
    ("owner_id", "owner"),
    ("result", "result"),
    ("status", "status"),
    ("type", "type"),
    ("updated_at", "updated_at"),
];

fn task_json(t: &Task) -> CmdResult<Map<String, Value>> {
    match serde_json::to_value(t).map_err(|e| Fail::other(e.to_string()))? {
        Value::Object(m) => Ok(m),
        _ => Err(Fail::other("a task that is not a JSON object")),
    }
}

fn task_record(t: &Map<String, Value>) -> Record {
    let mut rec: Record = TASK_FIELDS
        .iter()
        .map(|(name, key)| {
            let v = t.get(*key).cloned().unwrap_or(Value::Null);
            ((*name).to_owned(), Cell::Plain(v))
        })
        .collect();
    rec.push(("properties".into(), Cell::Dict(Vec::new())));
    rec.sort_by(|a, b| a.0.cmp(&b.0));
    rec
}

pub async fn run(images: &ImagesApi, out: &Printer, cmd: TaskCmd) -> CmdResult {
    match cmd {
        TaskCmd::Show { task } => {
            let t = task_json(&images.task(&task).await?)?;
            if out.raw {
                return out.show(&t);
            }
            out.show_record(&task_record(&t))
        }
        TaskCmd::List {
            type_,
            status,
            limit,
            marker,
        } => {
            let mut stream = images.tasks().page_size(1000);
            // The paginator starts at the first page: skip up to the marker here (Glance
            // would answer the same tasks after it).
            let mut before_marker = marker.is_some();
            let cols = [
                col("ID", "id"),
                col("Type", "type"),
                col("Status", "status"),
                col("Owner", "owner"),
            ];
            let wanted = |t: &Map<String, Value>, key: &str, v: &Option<String>| {
                v.as_ref()
                    .is_none_or(|v| t.get(key).and_then(Value::as_str) == Some(v))
            };
            let max = limit.filter(|n| *n > 0).unwrap_or(usize::MAX);
            let mut rows = Vec::new();
            while rows.len() < max
                && let Some(t) = stream.try_next().await?
            {
                if before_marker {
                    before_marker = marker.as_deref() != Some(t.id.as_str());
                    continue;
                }
                let t = task_json(&t)?;
                if wanted(&t, "type", &type_) && wanted(&t, "status", &status) {
                    rows.push(Value::Object(t));
                }
            }
            if out.raw {
                return out.list(&cols, &rows, true);
            }
            let rows = rows.iter().map(|t| list_row(t, &cols)).collect();
            out.list_records(&cols, rows)
        }
    }
}
