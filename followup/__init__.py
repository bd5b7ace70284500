"""Method templates, follow-up plans, activities and gains."""
