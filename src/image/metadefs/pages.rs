//! The two metadef lists Glance pages: namespaces (with a `next` link) and a namespace's
//! tags (no link: a full page means there may be more).

use futures_util::future::BoxFuture;
use reqwest::Method;
use serde::Deserialize;

use super::{MetadefNamespaceQuery, MetadefsApi, namespace_path};
use crate::client::{Req, ServiceType};
use crate::error::Result;
use crate::generated::{MetadefNamespace, MetadefTag};
use crate::paging::{Page, PageSource, Paginator, next_marker_from_link};

/// Namespaces, one page at a time (from [`MetadefsApi::namespaces`]).
pub type MetadefNamespacePaginator = Paginator<MetadefNamespace>;

/// A namespace's tags, one page at a time (from [`MetadefsApi::tags`]).
pub type MetadefTagPaginator = Paginator<MetadefTag>;

#[derive(Deserialize)]
struct NamespacesBody {
    namespaces: Vec<MetadefNamespace>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct TagsBody {
    tags: Vec<MetadefTag>,
}

fn limit_and_marker(
    mut pairs: Vec<(String, String)>,
    marker: Option<String>,
    page_size: Option<u64>,
) -> Vec<(String, String)> {
    if let Some(size) = page_size {
        pairs.push(("limit".to_owned(), size.to_string()));
    }
    if let Some(marker) = marker {
        pairs.push(("marker".to_owned(), marker));
    }
    pairs
}

/// `GET /v2/metadefs/namespaces`: the marker is a namespace name.
struct NamespacePages {
    api: MetadefsApi,
    query: MetadefNamespaceQuery,
}

pub(super) fn namespace_pages(
    api: &MetadefsApi,
    query: MetadefNamespaceQuery,
) -> impl PageSource<Item = MetadefNamespace> {
    NamespacePages {
        api: api.clone(),
        query,
    }
}

impl PageSource for NamespacePages {
    type Item = MetadefNamespace;

    fn fetch_page(
        &self,
        marker: Option<String>,
        page_size: Option<u64>,
    ) -> BoxFuture<'static, Result<Page<MetadefNamespace>>> {
        let client = self.api.client.clone();
        let pairs = limit_and_marker(self.query.pairs(), marker, page_size);
        Box::pin(async move {
            let base = client.endpoint(ServiceType::Image).await?;
            let req = Req::new(ServiceType::Image, Method::GET, "metadefs/namespaces").query(pairs);
            let body: NamespacesBody = client.send_json(req).await?;
            let next_marker =
                next_marker_from_link(&base, body.next.as_deref(), &body.namespaces, |n| {
                    Some(n.namespace.clone())
                });
            Ok(Page::new(body.namespaces, next_marker))
        })
    }

    fn marker_after(&self, ns: &MetadefNamespace) -> Option<String> {
        Some(ns.namespace.clone())
    }
}

/// `GET /v2/metadefs/namespaces/{namespace}/tags`: the marker is a tag name, and Glance
/// sends no `next`, so a page as full as asked for may have a successor. A namespace name
/// that cannot be a path segment is the first item's error, as with any list.
pub(super) struct TagPages {
    api: MetadefsApi,
    namespace: String,
}

impl TagPages {
    pub(super) fn new(api: &MetadefsApi, namespace: &str) -> TagPages {
        TagPages {
            api: api.clone(),
            namespace: namespace.to_owned(),
        }
    }
}

impl PageSource for TagPages {
    type Item = MetadefTag;

    fn fetch_page(
        &self,
        marker: Option<String>,
        page_size: Option<u64>,
    ) -> BoxFuture<'static, Result<Page<MetadefTag>>> {
        let client = self.api.client.clone();
        let pairs = limit_and_marker(Vec::new(), marker, page_size);
        let path = namespace_path(&self.namespace).map(|p| format!("{p}/tags"));
        Box::pin(async move {
            let req = Req::new(ServiceType::Image, Method::GET, path?).query(pairs);
            let body: TagsBody = client.send_json(req).await?;
            let full = page_size.is_some_and(|n| n > 0 && body.tags.len() as u64 >= n);
            let next_marker = full
                .then(|| body.tags.last().map(|t| t.name.clone()))
                .flatten();
            Ok(Page::new(body.tags, next_marker))
        })
    }

    fn marker_after(&self, tag: &MetadefTag) -> Option<String> {
        Some(tag.name.clone())
    }
}
