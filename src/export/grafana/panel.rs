//! The pieces of Grafana's dashboard JSON model (schemaVersion 39, protocols.md 5.5) that the
//! generated dashboards use, as plain `serde_json` values: one place knows the field names, so a
//! dashboard module reads as a list of panels, not as JSON.

use serde_json::{Value, json};

/// The schema version the generated dashboards declare (Grafana 10.4–11; newer ones migrate it).
pub const SCHEMA_VERSION: u32 = 39;

/// Every panel and variable reads the Prometheus chosen by the `datasource` variable.
pub fn datasource() -> Value {
    json!({"type": "prometheus", "uid": "${datasource}"})
}

/// Where a panel sits: 24 columns, rows of about 30 px.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    /// Column, 0–23.
    pub x: u32,
    /// Row.
    pub y: u32,
    /// Width in columns.
    pub w: u32,
    /// Height in rows.
    pub h: u32,
}

/// A panel's position.
pub fn grid(x: u32, y: u32, w: u32, h: u32) -> Grid {
    Grid { x, y, w, h }
}

impl Grid {
    fn json(self) -> Value {
        json!({"x": self.x, "y": self.y, "w": self.w, "h": self.h})
    }
}

/// A range query drawn over time, with its legend.
pub fn range(ref_id: &str, expr: &str, legend: &str) -> Value {
    json!({
        "refId": ref_id, "datasource": datasource(), "expr": expr,
        "legendFormat": legend, "range": true, "instant": false,
    })
}

/// An instant query (stat panels).
pub fn instant(ref_id: &str, expr: &str, legend: &str) -> Value {
    json!({
        "refId": ref_id, "datasource": datasource(), "expr": expr,
        "legendFormat": legend, "range": false, "instant": true,
    })
}

/// An instant query in table format (one row per series, labels as columns).
pub fn table_query(ref_id: &str, expr: &str) -> Value {
    json!({
        "refId": ref_id, "datasource": datasource(), "expr": expr,
        "format": "table", "range": false, "instant": true,
    })
}

/// Absolute thresholds; the first step is −∞ (`null`), the rest ascending.
pub fn thresholds(base: &str, steps: &[(f64, &str)]) -> Value {
    let mut list = vec![json!({"color": base, "value": null})];
    list.extend(steps.iter().map(|(v, c)| json!({"color": c, "value": v})));
    json!({"mode": "absolute", "steps": list})
}

/// Colours for a remaining error budget: red when spent, orange under a quarter, green above.
pub fn budget_thresholds() -> Value {
    thresholds("red", &[(0.0, "orange"), (0.25, "green")])
}

/// What every panel has: type, title, a description that says what it shows, datasource, place.
fn base(kind: &str, title: &str, description: &str, at: Grid) -> Value {
    json!({
        "type": kind, "title": title, "description": description,
        "datasource": datasource(), "gridPos": at.json(),
    })
}

/// The field defaults every panel carries: unit, thresholds, optional bounds.
pub struct Field {
    /// Grafana unit (`percentunit`, `s`, `short`, `reqps`, …).
    pub unit: &'static str,
    /// Colours by value.
    pub thresholds: Value,
    /// Lower and upper bound of the axis or gauge.
    pub min: Option<f64>,
    /// Upper bound.
    pub max: Option<f64>,
    /// Decimals shown.
    pub decimals: Option<u32>,
}

impl Field {
    /// A field with a unit and plain green thresholds.
    pub fn unit(unit: &'static str) -> Self {
        Field {
            unit,
            thresholds: thresholds("green", &[]),
            min: None,
            max: None,
            decimals: None,
        }
    }

    /// The same field with these thresholds.
    pub fn colored(mut self, t: Value) -> Self {
        self.thresholds = t;
        self
    }

    /// The same field with bounds.
    pub fn bounds(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.min = min;
        self.max = max;
        self
    }

    /// The same field with a number of decimals.
    pub fn decimals(mut self, d: u32) -> Self {
        self.decimals = Some(d);
        self
    }

    fn defaults(&self) -> Value {
        let mut d = json!({
            "unit": self.unit, "color": {"mode": "thresholds"}, "thresholds": self.thresholds,
        });
        if let Some(m) = self.min {
            d["min"] = json!(m);
        }
        if let Some(m) = self.max {
            d["max"] = json!(m);
        }
        if let Some(n) = self.decimals {
            d["decimals"] = json!(n);
        }
        d
    }
}

/// A single big number (the last value), coloured by its thresholds.
pub fn stat(title: &str, description: &str, targets: Vec<Value>, field: Field, at: Grid) -> Value {
    let mut p = base("stat", title, description, at);
    p["targets"] = json!(targets);
    p["fieldConfig"] = json!({"defaults": field.defaults(), "overrides": []});
    p["options"] = json!({
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
        "colorMode": "background", "graphMode": "none", "textMode": "auto",
        "justifyMode": "auto", "orientation": "auto",
    });
    p
}

/// Lines over time; with `lines` the thresholds are drawn as dashed lines (a policy's factors).
pub fn timeseries(
    title: &str,
    description: &str,
    targets: Vec<Value>,
    field: Field,
    lines: bool,
    at: Grid,
) -> Value {
    let mut p = base("timeseries", title, description, at);
    let mut defaults = field.defaults();
    defaults["custom"] = json!({
        "drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "spanNulls": false,
        "thresholdsStyle": {"mode": if lines { "dashed" } else { "off" }},
    });
    // Each series its own colour (thresholds mode would paint them all the base step's colour);
    // threshold lines, when drawn, keep the threshold colours.
    defaults["color"] = json!({"mode": "palette-classic"});
    p["targets"] = json!(targets);
    p["fieldConfig"] = json!({"defaults": defaults, "overrides": []});
    p["options"] = json!({
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
        "tooltip": {"mode": "multi", "sort": "none"},
    });
    p
}

/// A table of instant queries merged on their labels, with per-column overrides and
/// transformations.
pub fn table(
    title: &str,
    description: &str,
    targets: Vec<Value>,
    overrides: Vec<Value>,
    transformations: Vec<Value>,
    at: Grid,
) -> Value {
    let mut p = base("table", title, description, at);
    p["targets"] = json!(targets);
    p["fieldConfig"] = json!({
        "defaults": Field::unit("short").defaults(),
        "overrides": overrides,
    });
    p["options"] = json!({"showHeader": true, "cellHeight": "sm", "footer": {"show": false}});
    p["transformations"] = json!(transformations);
    p
}

/// An override of one column: its unit, display name and properties.
pub fn column(field: &str, name: &str, props: Vec<(&str, Value)>) -> Value {
    let mut properties = vec![json!({"id": "displayName", "value": name})];
    properties.extend(
        props
            .into_iter()
            .map(|(id, v)| json!({"id": id, "value": v})),
    );
    json!({"matcher": {"id": "byName", "options": field}, "properties": properties})
}

/// A collapsible row header.
pub fn row(title: &str, y: u32) -> Value {
    json!({
        "type": "row", "title": title, "collapsed": false,
        "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": [],
    })
}

/// The `datasource` variable: any Prometheus-compatible data source.
pub fn datasource_var() -> Value {
    json!({
        "type": "datasource", "name": "datasource", "label": "Prometheus", "query": "prometheus",
        "refresh": 1, "hide": 0, "current": {}, "options": [], "regex": "",
        "description": "The Prometheus (or Thanos, Mimir) that scrapes slowburn's /metrics.",
    })
}

/// A `label_values` variable; `all` adds an All option matching every value.
pub fn label_var(name: &str, label: &str, query: &str, multi: bool, all: bool) -> Value {
    let mut v = json!({
        "type": "query", "name": name, "label": label, "datasource": datasource(),
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2, "includeAll": all, "multi": multi, "sort": 1,
        "current": {}, "options": [], "regex": "", "hide": 0,
    });
    if all {
        v["allValue"] = json!(".*");
    }
    v
}

/// The built-in annotation every dashboard carries.
pub fn builtin_annotation() -> Value {
    json!({
        "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": true,
        "hide": true, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
        "type": "dashboard",
    })
}

/// An annotation from a Prometheus query: a region wherever the query has a value. Only the
/// fields Grafana's typed model keeps (the Prometheus editor's extras would be dropped on save).
pub fn query_annotation(name: &str, expr: &str, color: &str) -> Value {
    json!({
        "name": name, "datasource": datasource(), "enable": true, "hide": false,
        "iconColor": color, "expr": expr,
    })
}

/// The whole dashboard; panels get ids in order.
pub struct Board<'a> {
    /// Stable uid (the URL).
    pub uid: &'a str,
    /// Title.
    pub title: &'a str,
    /// What the dashboard is for.
    pub description: &'a str,
    /// Variables, in order.
    pub variables: Vec<Value>,
    /// Query annotations (after the built-in one).
    pub annotations: Vec<Value>,
    /// Panels and rows, in order.
    pub panels: Vec<Value>,
    /// Time range shown by default (`now-7d`).
    pub from: &'a str,
}

impl Board<'_> {
    /// The dashboard JSON (no `id` or `version`: Grafana assigns those).
    pub fn json(self) -> Value {
        let panels: Vec<Value> = self
            .panels
            .into_iter()
            .enumerate()
            .map(|(i, mut p)| {
                p["id"] = json!(i + 1);
                p
            })
            .collect();
        let mut annotations = vec![builtin_annotation()];
        annotations.extend(self.annotations);
        json!({
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": ["slo", "slowburn", "generated"], "timezone": "utc", "editable": true,
            "graphTooltip": 1, "time": {"from": self.from, "to": "now"}, "refresh": "1m",
            "schemaVersion": SCHEMA_VERSION, "fiscalYearStartMonth": 0, "liveNow": false,
            "weekStart": "",
            "templating": {"list": self.variables},
            "annotations": {"list": annotations},
            "panels": panels,
            "links": [{
                "title": "SLO dashboards", "type": "dashboards", "tags": ["slowburn"],
                "asDropdown": true, "includeVars": true, "keepTime": true,
                "icon": "external link", "targetBlank": false, "tooltip": "", "url": "",
            }],
        })
    }
}
