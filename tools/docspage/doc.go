// Package docspage holds the test of the reference server's docs page in
// headless Chromium, kept out of the product's module so that the browser
// driver is no dependency of the product.
package docspage
