import XCTest
final class SSEPlaceholderTests: XCTestCase { func testPlaceholder() {} }
