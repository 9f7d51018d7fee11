with

lineage as (

    select * from {{ ref('stg_mesh_catalog__lineage') }}

),

datasets as (

    select * from {{ ref('stg_mesh_catalog__datasets') }}
    where dataset_kind = 'product'

),

model_edges as (

    select * from lineage
    where lineage_level = 'model'
        -- reads of another domain's published datasets; a cross-domain read of a model that is
        -- in no product has no dataset (a contract violation reported by the checks, not a row)
        and upstream_dataset_id is not null

),

column_edges as (

    select
        upstream_unique_id,
        downstream_unique_id,
        count(*) as columns_count

    from lineage
    where lineage_level = 'column'
    group by 1, 2

),

final as (

    select
        model_edges.upstream_dataset_id || ' -> ' || model_edges.downstream_unique_id as edge_id,
        model_edges.upstream_domain,
        upstream.product_id as upstream_product_id,
        model_edges.upstream_dataset_id,
        model_edges.upstream_unique_id,
        upstream.version as upstream_version,
        upstream.is_latest as upstream_is_latest,
        upstream.deprecation_date as upstream_deprecation_date,
        model_edges.downstream_domain,
        model_edges.downstream_product_id,
        model_edges.downstream_dataset_id,
        model_edges.downstream_unique_id,
        coalesce(column_edges.columns_count, 0) as column_edges_count

    from model_edges
    left join datasets as upstream
        on model_edges.upstream_dataset_id = upstream.dataset_id
    left join column_edges
        on model_edges.upstream_unique_id = column_edges.upstream_unique_id
        and model_edges.downstream_unique_id = column_edges.downstream_unique_id

)

select * from final
