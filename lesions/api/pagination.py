from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=N&page_size=M``; a client may ask for up to MAX_PAGE_SIZE rows a page."""

    page_size_query_param = "page_size"
    max_page_size = 100
