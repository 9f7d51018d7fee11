with

datasets as (

    select * from {{ ref('stg_mesh_catalog__datasets') }}
    where dataset_kind = 'product'

),

columns as (

    select * from {{ ref('stg_mesh_catalog__columns') }}

),

ports as (

    select * from {{ ref('stg_mesh_catalog__ports') }}

),

column_regulations as (

    select * from {{ ref('stg_mesh_catalog__column_regulations') }}

),

versions as (

    select
        product_id,
        model_name,
        count(*) as versions_count

    from datasets
    group by 1, 2

),

column_counts as (

    select
        dataset_id,
        count(*) as columns_count,
        sum(case when is_classified then 1 else 0 end) as classified_columns_count,
        sum(case when regulations_count > 0 then 1 else 0 end) as regulated_columns_count

    from columns
    group by 1

),

dataset_regulations as (

    select distinct
        dataset_id,
        regulation

    from column_regulations

),

regulations as (

    select
        dataset_id,
        {{ dbt.listagg('regulation', "', '", 'order by regulation') }} as regulations

    from dataset_regulations
    group by 1

),

consumers as (

    select
        dataset_id,
        count(distinct consumer_product_id) as consumer_products_count

    from ports
    where port_direction = 'consumer'
    group by 1

),

final as (

    select
        datasets.dataset_id,
        datasets.address,
        datasets.domain,
        datasets.product_id,
        datasets.dataset_name,
        datasets.model_name,
        datasets.description,
        datasets.relation,
        datasets.version,
        datasets.latest_version,
        datasets.is_latest,
        coalesce(versions.versions_count, 1) as versions_count,
        datasets.deprecation_date,
        datasets.deprecation_date is not null as is_deprecated,
        datasets.contract_enforced,
        coalesce(column_counts.columns_count, 0) as columns_count,
        coalesce(column_counts.classified_columns_count, 0) as classified_columns_count,
        coalesce(column_counts.regulated_columns_count, 0) as regulated_columns_count,
        regulations.regulations,
        coalesce(consumers.consumer_products_count, 0) as consumer_products_count,
        datasets.last_build_status,
        datasets.last_success_at,
        datasets.row_count,
        datasets.is_fresh,
        datasets.tests_total,
        datasets.tests_passed,
        datasets.pass_rate,
        datasets.health,
        datasets.health_reasons

    from datasets
    left join versions
        on datasets.product_id = versions.product_id
        and datasets.model_name = versions.model_name
    left join column_counts
        on datasets.dataset_id = column_counts.dataset_id
    left join regulations
        on datasets.dataset_id = regulations.dataset_id
    left join consumers
        on datasets.dataset_id = consumers.dataset_id

)

select * from final
