//! The bulk-order request: the HTTP body and queue message of the Go oms-service
//! `{"sellerID": 1, "filePath": "storage/orders.csv"}`, plus the optional fields oms adds
//! (`jobId`, `sha256`, and `version`: the S3 object version ingest must read).

use super::ids::SellerId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A bulk-order request as carried by the queue. `sellerID` may be a JSON number or a
/// string; unknown fields are ignored, so messages of other producers are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOrderRequest {
    #[serde(rename = "sellerID")]
    pub seller_id: SellerField,
    #[serde(rename = "filePath")]
    pub file_path: String,
    #[serde(rename = "jobId", default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The exact version of an S3 object to read (its version id, or its ETag when the
    /// bucket keeps no versions); absent for a local file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Why a request body or message is not a bulk-order request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("not a bulk order request: {0}")]
    Malformed(String),
    #[error("sellerID {0}")]
    Seller(String),
    #[error("filePath is empty")]
    EmptyPath,
}

impl BulkOrderRequest {
    /// Parses a message body or HTTP body.
    ///
    /// # Errors
    /// [`RequestError::Malformed`] for bad JSON or a missing / mistyped field,
    /// [`RequestError::Seller`] for an empty seller, [`RequestError::EmptyPath`].
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        let req: Self =
            serde_json::from_slice(body).map_err(|e| RequestError::Malformed(e.to_string()))?;
        req.seller()?;
        if req.file_path.trim().is_empty() {
            return Err(RequestError::EmptyPath);
        }
        Ok(req)
    }

    /// The seller as an id.
    ///
    /// # Errors
    /// [`RequestError::Seller`] when it is empty or not a usable id.
    pub fn seller(&self) -> Result<SellerId, RequestError> {
        SellerId::parse(&self.seller_id.0).map_err(|e| RequestError::Seller(e.to_string()))
    }

    /// The request as a queue message: one line of JSON, `sellerID` and `filePath`
    /// first.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a request always serialises")
    }
}

/// `sellerID` as written: a number stays a number on the wire, a string a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerField(pub String);

impl Serialize for SellerField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.parse::<u64>() {
            Ok(n) if n.to_string() == self.0 => s.serialize_u64(n),
            _ => s.serialize_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for SellerField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            I(i64),
            S(String),
        }
        match Raw::deserialize(d) {
            Ok(Raw::N(n)) => Ok(SellerField(n.to_string())),
            Ok(Raw::I(n)) => Err(serde::de::Error::custom(format!(
                "sellerID must not be negative, got {n}"
            ))),
            Ok(Raw::S(s)) => Ok(SellerField(s.trim().to_owned())),
            Err(_) => Err(serde::de::Error::custom(
                "sellerID must be a whole number or a string",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_message_with_a_number_is_accepted() {
        let r = BulkOrderRequest::from_json(br#"{"sellerID":1,"filePath":"storage/orders.csv"}"#)
            .unwrap();
        assert_eq!(r.seller().unwrap().as_str(), "1");
        assert_eq!(r.file_path, "storage/orders.csv");
        assert_eq!(r.job_id, None);
    }

    #[test]
    fn a_string_seller_and_extra_fields_are_accepted() {
        let r = BulkOrderRequest::from_json(
            br#"{"sellerID":" 7 ","filePath":"a.csv","jobId":"j","sha256":"ab","other":[1]}"#,
        )
        .unwrap();
        assert_eq!(r.seller().unwrap().as_str(), "7");
        assert_eq!(r.job_id.as_deref(), Some("j"));
        assert_eq!(r.version, None);
    }

    #[test]
    fn the_message_keeps_the_original_fields_first_and_the_number_as_a_number() {
        let r = BulkOrderRequest {
            seller_id: SellerField("1".into()),
            file_path: "storage/orders.csv".into(),
            job_id: Some("j1".into()),
            sha256: Some("00".into()),
            version: None,
        };
        assert_eq!(
            r.to_json(),
            r#"{"sellerID":1,"filePath":"storage/orders.csv","jobId":"j1","sha256":"00"}"#
        );
    }

    #[test]
    fn the_version_goes_round_trip_and_may_be_absent() {
        let r = BulkOrderRequest {
            seller_id: SellerField("1".into()),
            file_path: "s3://orders/in/ab.csv".into(),
            job_id: Some("j1".into()),
            sha256: Some("ab".into()),
            version: Some("\"9b2cf535f27731c974343645a3985328\"".into()),
        };
        let text = r.to_json();
        assert!(
            text.ends_with(r#","version":"\"9b2cf535f27731c974343645a3985328\""}"#),
            "{text}"
        );
        assert_eq!(BulkOrderRequest::from_json(text.as_bytes()).unwrap(), r);
        let other =
            BulkOrderRequest::from_json(br#"{"sellerID":1,"filePath":"s3://orders/in/ab.csv"}"#)
                .unwrap();
        assert_eq!(other.version, None);
        assert!(!other.to_json().contains("version"));
    }

    #[test]
    fn bad_requests_are_named() {
        for (body, want) in [
            (&br#"{"filePath":"a.csv"}"#[..], "sellerID"),
            (br#"{"sellerID":1}"#, "filePath"),
            (br#"{"sellerID":true,"filePath":"a"}"#, "sellerID"),
            (br#"{"sellerID":-1,"filePath":"a"}"#, "negative"),
            (br#"{"sellerID":1.5,"filePath":"a"}"#, "sellerID"),
            (br#"not json"#, "not a bulk order request"),
        ] {
            let err = BulkOrderRequest::from_json(body).unwrap_err().to_string();
            assert!(err.contains(want), "{err} should name {want}");
        }
        assert_eq!(
            BulkOrderRequest::from_json(br#"{"sellerID":"","filePath":"a"}"#).unwrap_err(),
            RequestError::Seller("is empty".into())
        );
        assert_eq!(
            BulkOrderRequest::from_json(br#"{"sellerID":1,"filePath":" "}"#).unwrap_err(),
            RequestError::EmptyPath
        );
    }
}
