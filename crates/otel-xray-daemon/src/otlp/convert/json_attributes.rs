//! OTLP `AnyValue` attributes → SDK [`KeyValue`]s, with lossy conversions reported.

use opentelemetry::{Array, KeyValue, Value};
use serde_json::{Map, Value as Json};

use super::json_fields::{array_field, as_object, get, string_field};
use super::report::{JsonPath, Note, OtlpErrorKind, OtlpResult};
use super::{push_attribute, scalar_array, Any, BYTES_VALUE, KVLIST_VALUE, MIXED_ARRAY};

pub(super) fn convert_attributes(
    obj: &Map<String, Json>,
    loc: &JsonPath,
    notes: &mut Vec<Note>,
) -> OtlpResult<Vec<KeyValue>> {
    let a_loc = loc.field("attributes");
    let mut out = Vec::new();
    for (i, kv) in array_field(obj, "attributes", "attributes", loc)?
        .iter()
        .enumerate()
    {
        let kv_loc = a_loc.index(i);
        let kv_obj = as_object(kv, &kv_loc)?;
        let key = string_field(kv_obj, "key", "key", &kv_loc)?;
        let v_loc = kv_loc.field("value");
        let any = match get(kv_obj, "value", "value") {
            None => None,
            Some(v) => any_value(v, &v_loc)?,
        };
        push_attribute(key, any, || kv_loc.render(), notes, &mut out);
    }
    Ok(out)
}

/// Plain JSON rendering of an `AnyValue` (for values nested in kvlists and mixed arrays).
enum Plain {
    Scalar(Value, Json),
    Composite(Json),
}

fn any_value(v: &Json, loc: &JsonPath) -> OtlpResult<Option<Any>> {
    Ok(match plain_value(v, loc)? {
        None => None,
        Some(Plain::Scalar(value, _)) => Some(Any::Exact(value)),
        Some(Plain::Composite(json)) => {
            let obj = v.as_object();
            if let Some(arr) = obj.and_then(|o| get(o, "arrayValue", "array_value")) {
                match homogeneous_array(arr, &loc.field("arrayValue"))? {
                    Some(a) => Some(Any::Exact(Value::Array(a))),
                    None => Some(Any::Lossy(json, MIXED_ARRAY)),
                }
            } else if obj.is_some_and(|o| get(o, "bytesValue", "bytes_value").is_some()) {
                Some(Any::Lossy(json, BYTES_VALUE))
            } else {
                Some(Any::Lossy(json, KVLIST_VALUE))
            }
        }
    })
}

fn plain_value(v: &Json, loc: &JsonPath) -> OtlpResult<Option<Plain>> {
    let obj = as_object(v, loc)?;
    if let Some(s) = get(obj, "stringValue", "string_value") {
        let s = s
            .as_str()
            .ok_or_else(|| loc.field("stringValue").wrong("a string", s))?;
        return Ok(Some(Plain::Scalar(
            Value::from(s.to_owned()),
            Json::from(s),
        )));
    }
    if let Some(b) = get(obj, "boolValue", "bool_value") {
        let b = b
            .as_bool()
            .ok_or_else(|| loc.field("boolValue").wrong("a boolean", b))?;
        return Ok(Some(Plain::Scalar(Value::Bool(b), Json::from(b))));
    }
    if let Some(i) = get(obj, "intValue", "int_value") {
        let i_loc = loc.field("intValue");
        let bad = |found: String| {
            i_loc.err(OtlpErrorKind::BadNumber {
                expected: "a signed 64-bit integer",
                found,
            })
        };
        let n = match i {
            Json::Number(n) => n.as_i64().ok_or_else(|| bad(n.to_string()))?,
            Json::String(s) => s.parse::<i64>().map_err(|_| bad(s.clone()))?,
            other => return Err(i_loc.wrong("an integer or an integer string", other)),
        };
        return Ok(Some(Plain::Scalar(Value::I64(n), Json::from(n))));
    }
    if let Some(d) = get(obj, "doubleValue", "double_value") {
        let d_loc = loc.field("doubleValue");
        let f = match d {
            Json::Number(n) => n.as_f64().ok_or_else(|| d_loc.wrong("a number", d))?,
            Json::String(s) => match s.as_str() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                other => other
                    .parse::<f64>()
                    .map_err(|_| d_loc.wrong("a number", d))?,
            },
            other => return Err(d_loc.wrong("a number", other)),
        };
        // JSON has no NaN/Infinity: nested renderings use null, as serde_json does.
        return Ok(Some(Plain::Scalar(Value::F64(f), Json::from(f))));
    }
    if let Some(b) = get(obj, "bytesValue", "bytes_value") {
        let s = b
            .as_str()
            .ok_or_else(|| loc.field("bytesValue").wrong("a base64 string", b))?;
        return Ok(Some(Plain::Composite(Json::from(s))));
    }
    if let Some(a) = get(obj, "arrayValue", "array_value") {
        let a_loc = loc.field("arrayValue");
        let mut items = Vec::new();
        for (i, item) in values_of(a, &a_loc)?.iter().enumerate() {
            items.push(plain_json(plain_value(
                item,
                &a_loc.field("values").index(i),
            )?));
        }
        return Ok(Some(Plain::Composite(Json::Array(items))));
    }
    if let Some(kv) = get(obj, "kvlistValue", "kvlist_value") {
        let k_loc = loc.field("kvlistValue");
        let mut map = Map::new();
        let vals_loc = k_loc.field("values");
        for (i, entry) in values_of(kv, &k_loc)?.iter().enumerate() {
            let e_loc = vals_loc.index(i);
            let e_obj = as_object(entry, &e_loc)?;
            let key = string_field(e_obj, "key", "key", &e_loc)?;
            let value = match get(e_obj, "value", "value") {
                None => Json::Null,
                Some(v) => plain_json(plain_value(v, &e_loc.field("value"))?),
            };
            map.insert(key, value);
        }
        return Ok(Some(Plain::Composite(Json::Object(map))));
    }
    Ok(None)
}

fn plain_json(p: Option<Plain>) -> Json {
    match p {
        None => Json::Null,
        Some(Plain::Scalar(_, j)) | Some(Plain::Composite(j)) => j,
    }
}

fn values_of<'v>(container: &'v Json, loc: &JsonPath) -> OtlpResult<&'v [Json]> {
    let obj = as_object(container, loc)?;
    array_field(obj, "values", "values", loc)
}

/// The SDK array when every element is a scalar of one type (an empty array becomes a string array).
fn homogeneous_array(arr: &Json, loc: &JsonPath) -> OtlpResult<Option<Array>> {
    let mut scalars = Vec::new();
    for (i, item) in values_of(arr, loc)?.iter().enumerate() {
        match plain_value(item, &loc.field("values").index(i))? {
            Some(Plain::Scalar(v, _)) => scalars.push(v),
            _ => return Ok(None),
        }
    }
    Ok(scalar_array(scalars))
}
